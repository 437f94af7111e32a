"""The billing service (薪资): pay plans, performance data, payroll runs with approval and export."""
