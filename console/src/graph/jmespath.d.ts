// jmespath.js exports `compile` (the parser) but its published types declare only `search`.
import "jmespath";

declare module "jmespath" {
  export interface AstNode {
    type: string;
    value?: unknown;
    name?: string;
    children?: AstNode[];
  }
  export function compile(expression: string): AstNode;
}
