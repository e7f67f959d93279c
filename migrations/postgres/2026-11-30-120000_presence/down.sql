DROP TABLE presence;
DROP TABLE processes;
