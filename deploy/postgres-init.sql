-- one database per service (docker-compose only)
CREATE DATABASE yunkefu_onboarding;
CREATE DATABASE yunkefu_recruitment;
CREATE DATABASE yunkefu_training;
CREATE DATABASE yunkefu_scheduling;
CREATE DATABASE yunkefu_complaints;
CREATE DATABASE yunkefu_billing;
