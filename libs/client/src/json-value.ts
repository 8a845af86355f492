/** A JSON value: what a decoded payload (settings, args, an output item) is shown as. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
