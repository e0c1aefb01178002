/remember/:11
*:A:1:10:never
