# staleness.gp - how far behind the cache is: per group, the age in days
# of its newest evaluation with at least 90% of its jobs cached whole, at
# every crawl ("-": none).  data/staleness.tsv is shaped like coverage.tsv.
set output "staleness.svg"
set title "Staleness: age of each group's newest evaluation that is >= 90% cached"
set ylabel "days behind"
set yrange [0:*]
if (empty) {
	set yrange [0:1]
	plot 1e30 notitle
} else {
	plot for [i=2:ncols] "data/staleness.tsv" using 1:i with linespoints title columnheader(i)
}
