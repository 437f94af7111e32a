-- one database per service and one for the console (docker-compose only)
CREATE DATABASE yunkefu_onboarding;
CREATE DATABASE yunkefu_recruitment;
CREATE DATABASE yunkefu_training;
CREATE DATABASE yunkefu_scheduling;
CREATE DATABASE yunkefu_complaints;
CREATE DATABASE yunkefu_billing;
CREATE DATABASE yunkefu_quality;
CREATE DATABASE yunkefu_console;
