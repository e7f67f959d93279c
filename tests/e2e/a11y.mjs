/*
 * Accessibility checks with axe-core: every rule of WCAG 2.0, 2.1 and 2.2 at levels A
 * and AA, run inside the page as it stands.
 *
 * axe is evaluated through the DevTools protocol (page.evaluate), which a page's
 * Content-Security-Policy does not govern, so the check works on pages that allow
 * no inline script.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** The axe tags of WCAG 2.x levels A and AA. */
export const WCAG_A_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/** The WCAG 2 A/AA violations axe finds on the page now, one line per element. */
export async function wcagViolations(page) {
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (tags) => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: tags },
      resultTypes: ['violations'],
    });
    return result.violations.flatMap((v) =>
      v.nodes.map((n) => `${v.id} (${v.impact}): ${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ')}`),
    );
  }, WCAG_A_AA);
}

/** Fails, listing every violation, unless axe finds no WCAG 2 A/AA violation on the page. */
export async function assertNoWcagViolation(page, what) {
  const found = await wcagViolations(page);
  assert.deepEqual(found, [], `${what}: WCAG 2 A/AA violations:\n${found.join('\n')}`);
}
