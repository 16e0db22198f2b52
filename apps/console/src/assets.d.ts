// Vite bundles the style sheets the app imports for their side effect.
declare module '*.css';
