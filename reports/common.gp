# common.gp - put before every chart script by `cachegc report`, after
# the variables it sets: div (bytes per unit) and unit ("GiB") for the
# sizes, limit (bytes, 0: none), ncols (columns of the data file), tmin
# and tmax (the time span shown, epoch seconds), empty (1: the data file
# holds no value to draw; the script then draws the axes and says so).  gnuplot runs in the
# output directory, so the scripts name only data/X.tsv and X.svg.
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
set xtics rotate by -30 offset 0,-0.2
# the time axis: the span with a margin, ticks on whole days (hours for a
# span under three days), at most about ten of them
span = tmax - tmin
if (span <= 0) { tmin = tmin - 43200; tmax = tmax + 43200; span = 86400 }
set xrange [tmin - span * 0.04 : tmax + span * 0.04]
if (span < 3 * 86400) {
	set format x "%m-%d %H:%M"
	step = ceil(span / 3600.0 / 8) * 3600
	set xtics floor(tmin / 3600.0) * 3600, step
} else {
	set format x (span > 400 * 86400 ? "%Y-%m" : "%Y-%m-%d")
	step = ceil(span / 86400.0 / 10) * 86400
	set xtics floor(tmin / 86400.0) * 86400, step
}
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
# a chart with nothing to draw: its axes and a note (gnuplot refuses a
# plot without one valid point)
if (empty) {
	set label 99 "nothing to draw in this span" at graph 0.5, graph 0.5 center tc rgb "#57606a"
}
