# churn.gp - pushes and evictions per day (UTC).  data/churn.tsv: day
# (epoch of its midnight), pushed paths, pushed bytes, evicted paths,
# evicted bytes.  Pushes are dated by their push time, evictions by the
# crawl that found them gone.
set output "churn.svg"
set title sprintf("Pushed and evicted per day (%s)", unit)
set ylabel sprintf("per day (%s)", unit)
set yrange [0:*]
set style fill solid 0.75 border -1
set boxwidth 0.4 * 86400 absolute
if (empty) {
	set yrange [0:1]
	plot 1e30 notitle
} else {
	plot "data/churn.tsv" using ($1 + 0.5 * 86400 - 0.2 * 86400):($3/div) with boxes lt 3 title "pushed", \
	     "" using ($1 + 0.5 * 86400 + 0.2 * 86400):($5/div) with boxes lt 2 title "evicted"
}
