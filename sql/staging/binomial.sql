-- a macro, not a table: the binomial coefficient C(n, k) as a double (0 outside 0 ≤ k ≤ n), exact
-- for the n of any exhaustive run (up to 2^53)
create or replace macro binomial(n, k) as
    case
        when k < 0 or k > n then 0::double
        else round(exp(lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)))
    end
