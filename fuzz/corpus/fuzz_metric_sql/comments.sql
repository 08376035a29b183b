/* block */ -- line
CREATE METRIC "M1" AS SELECT COUNT(*) FROM flows; ; -- end
/* unterminated