// LogQL syntax check with Grafana's own grammar (@grafana/lezer-logql).
// stdin: JSON array of expressions. stdout: JSON array, one result per expression:
//   {"ok": bool, "error_positions": [offset, ...], "top": "MetricExpr" | "LogExpr" | null}
// `top` is the node directly under LogQL > Expr: a Loki alert/recording expr must be a MetricExpr.
// One process checks a whole batch, because node start-up dominates the cost.
import { parser } from '@grafana/lezer-logql';

function check(expr) {
  if (typeof expr !== 'string') {
    return { ok: false, error_positions: [0], top: null };
  }
  const tree = parser.parse(expr);
  const errors = [];
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(node.from);
    },
  });
  // An empty or comment-only input parses without error nodes but contains no expression.
  const exprNode = tree.topNode.getChild('Expr');
  if (!exprNode && errors.length === 0) errors.push(0);
  const top = exprNode && exprNode.firstChild ? exprNode.firstChild.name : null;
  return { ok: errors.length === 0, error_positions: [...new Set(errors)], top };
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  input += chunk;
});
process.stdin.on('end', () => {
  let exprs;
  try {
    exprs = JSON.parse(input);
  } catch (e) {
    process.stderr.write(`logql-check: stdin is not JSON: ${e.message}\n`);
    process.exit(2);
  }
  if (!Array.isArray(exprs)) {
    process.stderr.write('logql-check: expected a JSON array of strings on stdin\n');
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(exprs.map(check)) + '\n');
});
