# common.gp - put before every chart script by `cachegc report`.  The
# command sets, with -e, before this: charttitle (the report's title),
# div (bytes per unit) and unit ("GiB"), and runs gnuplot in the output
# directory, so the scripts name only data/X.tsv and X.svg.
set terminal svg size 960,440 dynamic noenhanced font "sans,12" background "#ffffff"
set encoding utf8
set datafile separator "\t"
set datafile missing "-"
set key outside right top vertical Left reverse noenhanced
set grid ytics lc rgb "#dddddd" lw 1
set border 3 lc rgb "#555555"
set tics nomirror
set xdata time
set timefmt "%s"
set format x "%Y-%m-%d"
set xtics rotate by -30 offset 0,-0.2
set xlabel "date (UTC)"
set bmargin 5
# one colour per group, readable on white and in print
set linetype 1 lc rgb "#1f77b4" lw 2 pt 7 ps 0.6
set linetype 2 lc rgb "#d62728" lw 2 pt 5 ps 0.6
set linetype 3 lc rgb "#2ca02c" lw 2 pt 9 ps 0.7
set linetype 4 lc rgb "#9467bd" lw 2 pt 11 ps 0.7
set linetype 5 lc rgb "#ff7f0e" lw 2 pt 13 ps 0.7
set linetype 6 lc rgb "#8c564b" lw 2 pt 7 ps 0.6
set linetype 7 lc rgb "#e377c2" lw 2 pt 5 ps 0.6
set linetype 8 lc rgb "#7f7f7f" lw 2 pt 9 ps 0.7
set linetype 9 lc rgb "#bcbd22" lw 2 pt 11 ps 0.7
set linetype 10 lc rgb "#17becf" lw 2 pt 13 ps 0.7
set linetype cycle 10
