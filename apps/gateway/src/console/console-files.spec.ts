import { consoleRelativePath, isHashedAsset } from './console-files';

describe('console files', () => {
  it('knows the paths under /console', () => {
    expect(consoleRelativePath('/console')).toBe('/');
    expect(consoleRelativePath('/console/tasks/x')).toBe('/tasks/x');
    expect(consoleRelativePath('/consoles')).toBeNull();
    expect(consoleRelativePath('/v1/me')).toBeNull();
  });

  it('caches for good only the files Vite names by their content', () => {
    expect(isHashedAsset('/assets/index-DvwmMOx4.css')).toBe(true);
    expect(isHashedAsset('/assets/review-queue-page-URTm9NnV.js')).toBe(true);
    expect(isHashedAsset('/assets/index.js')).toBe(false);
    expect(isHashedAsset('/assets/index-short.js')).toBe(false);
    expect(isHashedAsset('/assets/sub/index-DvwmMOx4.js')).toBe(false);
    expect(isHashedAsset('/index-DvwmMOx4.js')).toBe(false);
  });
});
