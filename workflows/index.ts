/** The business process: the application and award machines and the helpers the server drives them with. */
export * from './application.ts';
export * from './award.ts';
