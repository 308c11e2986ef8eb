-- a macro, not a table: a correlation from its co-moment cxy and the two spreads cxx, cyy (sums or
-- means, the same kind for all three); a spread that rounds below 0 counts as none, and no spread
-- gives null rather than the square root of a negative or a division by zero. With cxy = r_ab − r_ac·r_bc,
-- cxx = 1 − r_ac², cyy = 1 − r_bc² it is the partial correlation of a and b given c.
create or replace macro corr_of(cxy, cxx, cyy) as
    cxy / sqrt(nullif(greatest(cxx, 0) * greatest(cyy, 0), 0))
