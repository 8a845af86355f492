/**
 * HelloPlugin: greets the name in its job's args, like jobworkerp's example plugin.
 *
 * - settings `HelloSettings { greeting }`: the word to greet with ("Hello" when empty);
 * - args `HelloArgs { name }`: who to greet (a name is required: a job without one fails, and retrying will not help);
 * - result `HelloResult { message }`: "<greeting>, <name>!".
 *
 * The schemas are published as proto text and used here, through protobufjs, to read and write the bytes.
 */
import protobuf from 'protobufjs';

const runnerSettingsProto = `syntax = "proto3";
package hello;

// HelloPlugin settings: the word to greet with.
message HelloSettings {
  string greeting = 1;
}
`;

const jobArgsProto = `syntax = "proto3";
package hello;

// HelloPlugin job arguments: who to greet.
message HelloArgs {
  string name = 1;
}
`;

const resultOutputProto = `syntax = "proto3";
package hello;

// HelloPlugin result item.
message HelloResult {
  string message = 1;
}
`;

const Settings = protobuf.parse(runnerSettingsProto, { keepCase: true }).root.lookupType('hello.HelloSettings');
const Args = protobuf.parse(jobArgsProto, { keepCase: true }).root.lookupType('hello.HelloArgs');
const Result = protobuf.parse(resultOutputProto, { keepCase: true }).root.lookupType('hello.HelloResult');

let greeting = 'Hello';

/** An error that retrying will not fix: the plugin host reads `kind`. */
function fatal(message) {
  const error = new Error(message);
  error.kind = 'fatal';
  return error;
}

function decode(type, bytes) {
  try {
    return type.toObject(type.decode(bytes), { defaults: true });
  } catch (err) {
    throw fatal(`invalid ${type.name} bytes: ${err.message}`);
  }
}

/** @type {import('../../libs/runners/src/plugin-runner.js').PluginRunner} */
const hello = {
  name: 'HelloPlugin',
  runnerSettingsProto,
  jobArgsProto,
  resultOutputProto,
  load(settings) {
    const configured = decode(Settings, settings).greeting.trim();
    greeting = configured === '' ? 'Hello' : configured;
  },
  run(args) {
    const name = decode(Args, args).name.trim();
    if (name === '') throw fatal('HelloArgs.name is empty: say who to greet');
    return [Result.encode(Result.create({ message: `${greeting}, ${name}!` })).finish()];
  },
};

export default hello;
