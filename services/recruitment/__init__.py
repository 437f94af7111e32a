"""The recruitment service (团队组建): the talent pool and 1:3 matching of candidates to requisitions."""
