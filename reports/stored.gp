# stored.gp - what the cache stores at every crawl, against the limit.
# data/stored.tsv: time, paths, bytes.  limit: bytes, 0 for none.
set output "stored.svg"
set title sprintf("Stored at each crawl (%s)", unit)
set ylabel sprintf("stored (%s)", unit)
set yrange [0:*]
if (limit > 0) {
	plot "data/stored.tsv" using 1:($3/div) with linespoints lt 1 title "stored", \
	     "" using 1:(limit/div) with lines lt 2 dt 2 title sprintf("limit %.4g %s", limit/div, unit)
} else {
	plot "data/stored.tsv" using 1:($3/div) with linespoints lt 1 title "stored"
}
