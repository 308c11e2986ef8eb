-- a macro, not a table: the imbalance of a mask from its cutter_bits — the length of the mean unit
-- input-weight direction of its cutting nodes that are on (0 = directions cancel, 1 = all face one
-- way; null when no cutting node is on); mask_balance and balance_samples both use it
create or replace macro mask_imbalance(bits, unit_x, unit_y) as
    sqrt(pow(list_dot_product(bits, unit_x), 2) + pow(list_dot_product(bits, unit_y), 2))
        / nullif(list_sum(bits), 0)
