// Opens each link in headless Chromium (a small window, so the page must scroll) and prints
// whether the browser scrolled to the quoted sentence: the text fragment after #:~:text=
// matched. Usage: node check.mjs LINK… (playwright-core installed, /usr/bin/chromium).
import { chromium } from 'playwright-core';

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = 0;
for (const link of process.argv.slice(2)) {
  const page = await browser.newPage({ viewport: { width: 360, height: 160 } });
  await page.goto(link);
  await page.waitForTimeout(800);
  const [base, directive] = link.split('#:~:text=');
  const first = decodeURIComponent(directive.split(',')[0]);
  const seen = await page.evaluate((start) => {
    const p = [...document.querySelectorAll('p')].find((e) => e.textContent.includes(start));
    if (!p) return { found: false, scrollY: window.scrollY };
    const r = p.getBoundingClientRect();
    return { found: true, scrollY: window.scrollY, top: Math.round(r.top), bottom: Math.round(r.bottom), height: window.innerHeight };
  }, first);
  const visible = seen.found && seen.top < seen.height && seen.bottom > 0;
  const needed = seen.found && seen.top + seen.scrollY >= seen.height; // below the fold unscrolled
  console.log(`${visible ? 'ok  ' : 'FAIL'} scrolled ${seen.scrollY}px, quote at ${seen.top}..${seen.bottom} of ${seen.height}px${needed ? '' : ' (on the first screen anyway)'}: ${link}`);
  if (!visible) failed++;
  await page.close();
}
await browser.close();
process.exit(failed ? 1 : 0);
