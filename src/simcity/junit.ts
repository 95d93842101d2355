// JUnit XML, the report format CI systems read: one test suite per scenario
// run, one test case per oracle family, a failure carrying the violation, the
// forensic snapshot and the replay command.

import { formatSnapshot, formatViolation } from './forensics.js';
import type { ScenarioResult } from './types.js';

function escapeXml(text: string): string {
  return (
    text
      .replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c)
      // biome-ignore lint/suspicious/noControlCharactersInRegex: XML 1.0 forbids these characters, so they are removed.
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '')
  );
}

export function toJUnitXml(results: ScenarioResult[]): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const failures = results.filter((r) => !r.passed).length;
  const totalSeconds = results.reduce((sum, r) => sum + r.durationMs, 0) / 1000;
  lines.push(`<testsuites name="simcity" tests="${results.length}" failures="${failures}" time="${totalSeconds.toFixed(3)}">`);
  for (const result of results) {
    const seconds = (result.durationMs / 1000).toFixed(3);
    lines.push(`  <testsuite name="${escapeXml(`${result.scenarioId} ${result.title}`)}" tests="1" failures="${result.passed ? 0 : 1}" time="${seconds}">`);
    lines.push('    <properties>');
    for (const [key, value] of [
      ['seed', result.seed],
      ['commit', result.commit ?? 'unknown'],
      ['digest', result.digest],
      ['verdict', result.verdict],
      ['parameters', JSON.stringify(result.parameters)],
    ] as const) {
      lines.push(`      <property name="${key}" value="${escapeXml(value)}"/>`);
    }
    lines.push('    </properties>');
    lines.push(
      `    <testcase classname="simcity.${escapeXml(result.scenarioId)}" name="${escapeXml(`${result.scenarioId} seed=${result.seed} iterations=${result.parameters.iterations}`)}" time="${seconds}">`,
    );
    if (!result.passed) {
      const first = result.violations[0];
      const body = [
        ...result.violations.map(formatViolation),
        '',
        `replay: ${result.replayCommand}  (commit ${result.commit ?? 'unknown'})`,
        '',
        result.forensicSnapshot ? formatSnapshot(result.forensicSnapshot) : '',
      ].join('\n');
      lines.push(
        `      <failure message="${escapeXml(first ? formatViolation(first) : result.verdict)}" type="${escapeXml(first?.oracle ?? result.verdict)}">${escapeXml(body)}</failure>`,
      );
    }
    lines.push(`      <system-out>${escapeXml(`digest ${result.digest}\nactions ${result.actions}\nstats ${JSON.stringify(result.stats)}`)}</system-out>`);
    lines.push('    </testcase>');
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}
