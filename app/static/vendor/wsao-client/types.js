/** Wire frames of the wsao_trio protocol (shared/PROTOCOL.md, contract v1 to v1.3). */
export {};
