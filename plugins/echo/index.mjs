/**
 * EchoPlugin: returns its job's args unchanged as the one result item. Its schemas are empty, so settings and
 * args are raw bytes (clients send UTF-8 text). It does no work at all, which makes it the plugin the benchmark
 * uses to measure the job pipeline itself.
 */

/** @type {import('../../libs/runners/src/plugin-runner.js').PluginRunner} */
const echo = {
  name: 'EchoPlugin',
  runnerSettingsProto: '',
  jobArgsProto: '',
  resultOutputProto: '',
  load() {},
  run(args) {
    return [args];
  },
};

export default echo;
