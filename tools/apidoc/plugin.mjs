// Every exported function needs a description too. TypeDoc's own `notDocumented` check would also demand one for
// every method of every class and interface once "Function" is listed, so functions are checked here instead, at
// the top level only (the exported symbols).
import { Converter, ReflectionKind } from 'typedoc';

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_END, (context) => {
    for (const ref of context.project.getChildrenByKind(ReflectionKind.Function)) {
      const documented = ref.hasComment() || ref.signatures?.some((s) => s.hasComment());
      if (!documented) app.logger.warn(`${ref.getFriendlyFullName()} (Function) does not have any documentation`);
    }
  });
}
