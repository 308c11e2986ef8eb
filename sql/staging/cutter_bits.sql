-- a macro, not a table: a mask's cutting nodes as a list of 0/1 (1 = on), in the order of
-- cutter_directions' node list
create or replace macro cutter_bits(mask, nodes) as
    list_transform(nodes, n -> ((mask >> n) & 1)::double)
