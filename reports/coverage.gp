# coverage.gp - coverage over time: per group, the share of the jobs of
# its then-latest evaluation cached whole, at every crawl.
# data/coverage.tsv: time (epoch) then one column per group (percent, "-"
# before the group's first evaluation); the header row names the groups.
# ncols: the number of columns.
set output "coverage.svg"
set title "Coverage over time: jobs of each group's latest evaluation cached whole"
set ylabel "jobs cached whole (%)"
set yrange [0:105]
set ytics 0,10,100
if (empty) {
	plot 1e30 notitle
} else {
	plot for [i=2:ncols] "data/coverage.tsv" using 1:i with linespoints title columnheader(i)
}
