"""The scheduling service (上线服务管理).

The active pool and reserve, rosters, surges, attrition, timesheets, staffing estimates.
"""
