# gnuplot -e "results='results.tsv'; output='bench.png'" bench/plot.gp
# Time against N, in one UML boot per N: programming an empty kernel,
# reading it back for a sync with nothing to do, and the ratios to the
# references measured in the same boot (the machine's load changes from
# one boot to the next; the ratios share it).
set terminal pngcairo size 1500,480 noenhanced font ",10"
set output output
set datafile separator "\t"
set datafile missing "NA"
set key top left
set grid
set xlabel "Services (10 endpoints each)"
set multiplot layout 1,3
set ylabel "wall time (ms), User-mode Linux"
set title "Cold sync into an empty kernel"
plot results using 1:4 skip 1 with linespoints title "ipvsadm -R (same rules)", \
     results using 1:5 skip 1 with linespoints title "ipvs-svc sync --once (cold)", \
     results using 1:9 skip 1 with linespoints title "ip -batch (ClusterIP addresses)"
set title "Second sync (nothing changed) vs reading the table"
plot results using 1:15 skip 1 with linespoints title "ipvs-svc sync --once (second)", \
     results using 1:18 skip 1 with linespoints title "ipvsadm -Sn", \
     results using 1:20 skip 1 with linespoints title "cat /proc/net/ip_vs", \
     results using 1:47 skip 1 with linespoints title "the read alone (/proc + one dump)", \
     results using 1:49 skip 1 with linespoints title "the read alone (netlink per VS)"
set key top right
set title "Ratios in the same boot (> 1: ipvs-svc faster)"
set ylabel "ratio"
set yrange [0:6]
plot results using 1:6 skip 1 with linespoints title "ipvsadm -R / cold sync", \
     results using 1:21 skip 1 with linespoints title "ipvsadm -Sn / second sync", \
     results using 1:22 skip 1 with linespoints title "/proc/net/ip_vs / second sync", \
     results using 1:39 skip 1 with linespoints title "cold, host CPU", \
     results using 1:42 skip 1 with linespoints title "second, host CPU", \
     4 with lines dashtype 2 title "target 4x (cold)", \
     1 with lines dashtype 3 title "target 1x (second)"
unset multiplot
