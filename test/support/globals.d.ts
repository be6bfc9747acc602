// Tests read JSON bodies whose shape they then assert on; `any` there keeps assertions readable.
interface Response {
  json(): Promise<any>;
}
