/** `@wsao/client`: the wsao_trio WebSocket protocol for browsers and Node >= 20. */
export { WsaoClient, WsaoError, devToken } from "./client.js";
export { classifySeq, emptyRun, foldEvents, forgetEpoch, isFinished, isTerminalEvent, reduceRun, reduceRuns } from "./reducer.js";
export { tokenExpiry } from "./jwt.js";
