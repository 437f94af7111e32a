"""The training service (培训及考核): cohorts, courseware, the dual assessment and 1:2 admission."""
