DROP TABLE links;
DROP TABLE categories;
DROP TABLE goals;
