m4_divert(-1)m4_dnl
m4_dnl c.m4 - macros shared by the cnnc skeletons.
m4_dnl
m4_dnl emit.c has already switched the quotes to <| |> (C never contains them)
m4_dnl and switched off m4 comments (so '#define' lines expand), then defined
m4_dnl the muscles listed in README.md.  Nothing here produces output.

m4_dnl cnnc_step(I, FIELD): a field of step I (a muscle "cnnc_step(I, FIELD)").
m4_define(<|cnnc_step|>, <|m4_indir(<|cnnc_step($1, $2)|>)|>)

m4_dnl cnnc_input(I, FIELD), cnnc_output(I, FIELD): axis I of the input or
m4_dnl output shape; FIELD is name (C, H, W, L or N) or size.
m4_define(<|cnnc_input|>, <|m4_indir(<|cnnc_input($1, $2)|>)|>)
m4_define(<|cnnc_output|>, <|m4_indir(<|cnnc_output($1, $2)|>)|>)

m4_dnl cnnc_each(MACRO, I, N): MACRO(I) MACRO(I+1) ... MACRO(N-1).
m4_define(<|cnnc_each|>,
<|m4_ifelse(m4_eval(<|$2 < $3|>), 1, <|$1(<|$2|>)<||>cnnc_each(<|$1|>, m4_incr(<|$2|>), <|$3|>)|>)|>)

m4_divert(0)m4_dnl
