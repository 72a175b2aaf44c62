import { runParserBench } from '/work/main/bench/src/parser/parser-bench.ts';
const results = runParserBench(true);
for (const [shape, row] of Object.entries(results)) {
  console.log(shape.padEnd(34), Object.entries(row).map(([n, r]) => `${n}=${r.ms}ms${r.correct ? '' : '(WRONG)'}`).join('  '));
}
