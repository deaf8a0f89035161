// Lazily loaded: lowlight (highlight.js grammars for ~37 common languages), kept out of the first paint.
import { common, createLowlight } from "lowlight";

export const lowlight = createLowlight(common);
