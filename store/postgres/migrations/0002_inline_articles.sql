-- Keep an article of a few KB (the usual pool message) in the table row
-- instead of the TOAST table: a row over about 2 KB would otherwise be
-- compressed (in vain: ciphertext) and moved out of line, which costs two
-- more heap and index inserts per article. Larger articles are still
-- moved out of line.
ALTER TABLE articles SET (toast_tuple_target = 8160);
