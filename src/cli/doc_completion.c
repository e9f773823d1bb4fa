/*
 * doc_completion.c - the bash completion script, written from the command
 * and option tables (see cli/doc.h): the commands, each command's options,
 * how each option's value completes (by its type: a file, a directory, one
 * of its choices, a cache URL from the database, or free text), each
 * command's subcommands (the literal word after its name in its usage
 * lines, e.g. "keys add|revoke|list") and whether it takes file arguments
 * (not with PARSE_NO_ARGS).
 */
#include <string.h>

#include "cli/doc.h"
#include "lib/util.h"

/* s as one single-quoted shell word. */
static void put_quoted(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; s && *s; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	fputc('\'', f);
}

/* How an option's value completes: NULL when it takes none. */
static const char *value_kind(const struct option *o, struct strbuf *sb)
{
	strbuf_reset(sb);
	if (o->type == OPT_FLAG_T || o->type == OPT_HELP_T)
		return NULL;
	if (o->choices) {
		strbuf_addstr(sb, "choice");
		for (size_t k = 0; o->choices[k]; k++)
			strbuf_addf(sb, " %s", o->choices[k]);
		return sb->buf;
	}
	if (!strcmp(o->name, "cache"))
		return "cache";
	/* a PATH, or any value called FILE or DIR (--roots FILE is a
	 * callback: it may be repeated) */
	if (o->argh && !strcmp(o->argh, "DIR"))
		return "dir";
	if (o->type == OPT_PATH_T || (o->argh && !strcmp(o->argh, "FILE")))
		return "file";
	return "text";
}

static int visible(const struct option *o)
{
	return o->type != OPT_TEXT_T && o->type != OPT_END_T && o->name && o->help;
}

static void put_option_list(FILE *f, const struct opt_parser *p)
{
	struct strbuf sb = STRBUF_INIT;

	for (const struct option *o = p->opts; o->type != OPT_END_T; o++) {
		if (!visible(o))
			continue;
		if (o->short_name)
			strbuf_addf(&sb, "%s-%c", sb.len ? " " : "", o->short_name);
		strbuf_addf(&sb, "%s--%s", sb.len ? " " : "", o->name);
	}
	put_quoted(f, sb.buf);
	strbuf_release(&sb);
}

/* The value kinds of p's options as case arms "CMD --name) echo KIND ;;". */
static void put_value_arms(FILE *f, const char *cmd, const struct opt_parser *p)
{
	struct strbuf sb = STRBUF_INIT, arm = STRBUF_INIT;

	for (const struct option *o = p->opts; o->type != OPT_END_T; o++) {
		const char *kind;

		if (!visible(o) || !(kind = value_kind(o, &sb)))
			continue;
		strbuf_reset(&arm);
		strbuf_addf(&arm, "%s --%s", cmd, o->name);
		fputs("\t", f);
		put_quoted(f, arm.buf);
		if (o->short_name) {
			strbuf_reset(&arm);
			strbuf_addf(&arm, "%s -%c", cmd, o->short_name);
			fputs("|", f);
			put_quoted(f, arm.buf);
		}
		fputs(") echo ", f);
		put_quoted(f, kind);
		fputs(" ;;\n", f);
	}
	strbuf_release(&sb);
	strbuf_release(&arm);
}

/* The subcommands of c: the lowercase word after "cachegc ... NAME" in its
 * usage lines, space-separated into sb. */
static void subcommands(const struct cmd *c, struct strbuf *sb)
{
	const char *p = c->options->usage, *end = strstr(p, "\n\n");
	size_t nl = strlen(c->name);

	strbuf_reset(sb);
	if (!end)
		end = p + strlen(p);
	while (p < end) {
		const char *at = strstr(p, c->name);
		const char *w, *e;

		if (!at || at >= end)
			break;
		p = at + nl;
		if (at == c->options->usage || at[-1] != ' ' || (*p != ' '))
			continue;
		for (w = p; *w == ' '; w++)
			;
		for (e = w; (*e >= 'a' && *e <= 'z') || (*e >= '0' && *e <= '9') || *e == '-'; e++)
			;
		if (e == w || (*e != ' ' && *e != '\n' && *e != '\0') || *w == '-')
			continue;
		{
			char word[64];
			size_t n = (size_t)(e - w);

			if (n >= sizeof(word))
				continue;
			memcpy(word, w, n);
			word[n] = '\0';
			/* once each */
			if (!sb->buf || !strstr(sb->buf, word))
				strbuf_addf(sb, "%s%s", sb->len ? " " : "", word);
		}
	}
}

static const char script_main[] =
	"# _cachegc: the completion function.  It reads COMP_WORDS and COMP_CWORD\n"
	"# only, so it works without the bash-completion package too.\n"
	"_cachegc() {\n"
	"\tlocal -a words=()\n"
	"\tlocal i w cword=0 cur cmd='' db='' kind sub='' npos=0 dashdash=0 opt='' pre=''\n"
	"\tCOMPREPLY=()\n"
	"\t# bash splits \"file:///x\" at ':' (COMP_WORDBREAKS): glue it back\n"
	"\tfor ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do\n"
	"\t\tw=${COMP_WORDS[i]}\n"
	"\t\tif [[ $w == :* && ${#words[@]} -gt 0 && -z ${w//:/} ]] ||\n"
	"\t\t   [[ ${#words[@]} -gt 0 && ${words[-1]} == *: && ${COMP_WORDS[i-1]} == :* && -z ${COMP_WORDS[i-1]//:/} ]]; then\n"
	"\t\t\twords[-1]+=$w\n"
	"\t\telse\n"
	"\t\t\twords+=(\"$w\")\n"
	"\t\tfi\n"
	"\t\t((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))\n"
	"\tdone\n"
	"\tcur=${words[cword]}\n"
	"\tfor ((i = 1; i < cword; i++)); do\n"
	"\t\tw=${words[i]}\n"
	"\t\tif ((dashdash)) || [[ $w != -?* ]]; then\n"
	"\t\t\tif [[ -z $cmd ]]; then cmd=$w; else npos=$((npos + 1)); fi\n"
	"\t\t\tcontinue\n"
	"\t\tfi\n"
	"\t\tif [[ $w == -- && -n $cmd ]]; then dashdash=1; continue; fi\n"
	"\t\tif [[ $w == *=* ]]; then\n"
	"\t\t\t[[ -z $cmd && ${w%%=*} == --db ]] && db=${w#*=}\n"
	"\t\t\tcontinue\n"
	"\t\tfi\n"
	"\t\tkind=$(_cachegc_value \"$cmd\" \"$w\")\n"
	"\t\t[[ -n $kind ]] || continue\n"
	"\t\t# the value: the next word, after a lone '=' (--opt=value split)\n"
	"\t\t[[ ${words[i+1]-} == = ]] && i=$((i + 1))\n"
	"\t\t((i + 1 < cword)) || { opt=$w; break; }\n"
	"\t\ti=$((i + 1))\n"
	"\t\t[[ -z $cmd && $w == --db ]] && db=${words[i]}\n"
	"\tdone\n"
	"\tif [[ -z $opt ]]; then\n"
	"\t\tif [[ $cur == = && $cword -gt 1 ]]; then\n"
	"\t\t\topt=${words[cword-1]}; cur=''\n"
	"\t\telif [[ $cur == --*=* ]] && ((!dashdash)); then\n"
	"\t\t\topt=${cur%%=*}; cur=${cur#*=}\n"
	"\t\t\t# '=' is not a word break here: the value keeps its option\n"
	"\t\t\t[[ $COMP_WORDBREAKS == *=* ]] || pre=$opt=\n"
	"\t\tfi\n"
	"\telif [[ $cur == = ]]; then\n"
	"\t\tcur=''\n"
	"\tfi\n"
	"\tif [[ -n $opt ]]; then\n"
	"\t\tkind=$(_cachegc_value \"$cmd\" \"$opt\")\n"
	"\t\tcase $kind in\n"
	"\t\tchoice\\ *) COMPREPLY=($(compgen -W \"${kind#choice }\" -- \"$cur\")) ;;\n"
	"\t\tfile) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
	"\t\tdir) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- \"$cur\")) ;;\n"
	"\t\tcache)\n"
	"\t\t\tlocal urls IFS=$' \\t\\n'\n"
	"\t\t\turls=$(\"${words[0]:-cachegc}\" ${db:+--db \"$db\"} --list-caches 2>/dev/null)\n"
	"\t\t\tIFS=$'\\n'\n"
	"\t\t\tCOMPREPLY=($(compgen -W \"$urls\" -- \"$cur\"))\n"
	"\t\t\t# bash replaces only what follows the last ':' of the word\n"
	"\t\t\tif [[ $COMP_WORDBREAKS == *:* && $cur == *:* ]]; then\n"
	"\t\t\t\tlocal colon=${cur%\"${cur##*:}\"}\n"
	"\t\t\t\tfor i in \"${!COMPREPLY[@]}\"; do COMPREPLY[i]=${COMPREPLY[i]#\"$colon\"}; done\n"
	"\t\t\tfi\n"
	"\t\t\t;;\n"
	"\t\tesac\n"
	"\t\tif [[ -n $pre ]]; then\n"
	"\t\t\tfor i in \"${!COMPREPLY[@]}\"; do COMPREPLY[i]=$pre${COMPREPLY[i]}; done\n"
	"\t\tfi\n"
	"\t\treturn 0\n"
	"\tfi\n"
	"\tif [[ -z $cmd ]]; then\n"
	"\t\tif [[ $cur == -* ]]; then\n"
	"\t\t\tCOMPREPLY=($(compgen -W \"$(_cachegc_options '')\" -- \"$cur\"))\n"
	"\t\telse\n"
	"\t\t\tCOMPREPLY=($(compgen -W \"$_cachegc_commands\" -- \"$cur\"))\n"
	"\t\tfi\n"
	"\t\treturn 0\n"
	"\tfi\n"
	"\tif [[ $cur == -* ]] && ((!dashdash)); then\n"
	"\t\tCOMPREPLY=($(compgen -W \"$(_cachegc_options \"$cmd\")\" -- \"$cur\"))\n"
	"\t\treturn 0\n"
	"\tfi\n"
	"\tsub=$(_cachegc_subcommands \"$cmd\")\n"
	"\tif [[ -n $sub ]] && ((npos == 0)); then\n"
	"\t\tCOMPREPLY=($(compgen -W \"$sub\" -- \"$cur\"))\n"
	"\telif _cachegc_takes_files \"$cmd\"; then\n"
	"\t\tcompopt -o filenames 2>/dev/null\n"
	"\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	"\tfi\n"
	"\treturn 0\n"
	"}\n"
	"complete -F _cachegc cachegc\n";

void doc_completion_bash(const struct doc_src *d, FILE *f)
{
	struct strbuf sb = STRBUF_INIT;

	fputs("# bash completion for cachegc(1).  Generated by 'cachegc --completion=bash'\n"
	      "# from the command and option tables; do not edit.\n"
	      "# shellcheck shell=bash\n\n", f);

	fputs("_cachegc_commands=", f);
	for (size_t i = 0; i < d->ncmds; i++)
		strbuf_addf(&sb, "%s%s", i ? " " : "", d->cmds[i]->name);
	put_quoted(f, sb.buf);
	fputs("\n\n", f);

	fputs("# _cachegc_options CMD: the options of CMD ('': the global ones)\n"
	      "_cachegc_options() {\n\tcase $1 in\n\t'') echo ", f);
	put_option_list(f, d->global);
	fputs(" ;;\n", f);
	for (size_t i = 0; i < d->ncmds; i++) {
		fputs("\t", f);
		put_quoted(f, d->cmds[i]->name);
		fputs(") echo ", f);
		put_option_list(f, d->cmds[i]->options);
		fputs(" ;;\n", f);
	}
	fputs("\tesac\n}\n\n", f);

	fputs("# _cachegc_value CMD OPTION: how OPTION's value completes (file, dir,\n"
	      "# cache, text, or 'choice A B ...'); nothing when it takes no value\n"
	      "_cachegc_value() {\n\tcase \"$1 $2\" in\n", f);
	put_value_arms(f, "", d->global);
	for (size_t i = 0; i < d->ncmds; i++)
		put_value_arms(f, d->cmds[i]->name, d->cmds[i]->options);
	fputs("\tesac\n}\n\n", f);

	fputs("# _cachegc_subcommands CMD: the words that may follow CMD\n"
	      "_cachegc_subcommands() {\n\tcase $1 in\n", f);
	for (size_t i = 0; i < d->ncmds; i++) {
		subcommands(d->cmds[i], &sb);
		if (!sb.len)
			continue;
		fputs("\t", f);
		put_quoted(f, d->cmds[i]->name);
		fputs(") echo ", f);
		put_quoted(f, sb.buf);
		fputs(" ;;\n", f);
	}
	fputs("\tesac\n}\n\n", f);

	fputs("# _cachegc_takes_files CMD: whether CMD takes file (or other) arguments\n"
	      "_cachegc_takes_files() {\n\tcase $1 in\n", f);
	strbuf_reset(&sb);
	for (size_t i = 0; i < d->ncmds; i++)
		if (d->cmds[i]->options->flags & PARSE_NO_ARGS)
			strbuf_addf(&sb, "%s%s", sb.len ? "|" : "", d->cmds[i]->name);
	if (sb.len)
		fprintf(f, "\t%s) return 1 ;;\n", sb.buf);
	fputs("\tesac\n\treturn 0\n}\n\n", f);

	fputs(script_main, f);
	strbuf_release(&sb);
}
