# Print "NODE SYMBOL" for every global name of a version script.
{ sub(/\/\*.*\*\//, "") }
/\/\*/ { incomment = 1; next }
incomment { if (/\*\//) incomment = 0; next }
/^[ \t]*[A-Za-z_][A-Za-z0-9_.]*[ \t]*\{/ {
	node = $1; sub(/\{.*/, "", node); scope = "global"; next
}
/^[ \t]*global:/ { scope = "global"; next }
/^[ \t]*local:/ { scope = "local"; next }
/^[ \t]*\}/ { node = ""; next }
node != "" && scope == "global" {
	gsub(/[ \t;]/, "")
	if ($0 != "") print node, $0
}
