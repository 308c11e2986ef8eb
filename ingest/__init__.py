"""Knockout ingest: train the network, evaluate masks, write the store and the warehouse."""
