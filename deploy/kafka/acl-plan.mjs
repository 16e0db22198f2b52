// Prints the Kafka ACL plan derived from the topic catalogue (libs/kafka kafkaAclPlan), from the built libraries.
//   node deploy/kafka/acl-plan.mjs [--topic-prefix=P] [--format=args|markdown|principals]
// args: one line per AclCommand call (the arguments after --add); markdown: the table for the README;
// principals: the SCRAM users the plan needs, one per line.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const { EVENT_CATALOGUE } = require(join(root, 'libs/contracts/dist/index.js'));
const { kafkaAclPlan, kafkaAclPrincipals } = require(join(root, 'libs/kafka/dist/kafka-acl-plan.js'));

const option = (name, fallback) => {
  const arg = process.argv.slice(2).find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : arg.slice(name.length + 3);
};
const topicPrefix = option('topic-prefix', process.env.KAFKA_TOPIC_PREFIX ?? '');
const format = option('format', 'args');
// The same rule as KAFKA_TOPIC_PREFIX in libs/config; it also keeps the printed arguments safe to split on spaces.
if (!/^[a-zA-Z0-9._-]*$/.test(topicPrefix)) {
  console.error(`topic prefix ${JSON.stringify(topicPrefix)}: letters, digits, dot, dash and underscore only`);
  process.exit(2);
}

const plan = kafkaAclPlan(EVENT_CATALOGUE, topicPrefix);
if (format === 'principals') {
  for (const principal of kafkaAclPrincipals(plan)) console.log(principal);
} else if (format === 'args') {
  for (const acl of plan)
    console.log(
      [
        `--allow-principal User:${acl.principal}`,
        ...acl.operations.map((o) => `--operation ${o}`),
        `--resource-pattern-type ${acl.patternType}`,
        ...acl.names.map((n) => `--${acl.resourceType} ${n}`),
      ].join(' '),
    );
} else if (format === 'markdown') {
  console.log('| Principal | Resource | Operations | Names |');
  console.log('|---|---|---|---|');
  for (const acl of plan)
    console.log(
      `| \`User:${acl.principal}\` | ${acl.resourceType}${acl.patternType === 'prefixed' ? ' (prefix)' : ''} | ` +
        `${acl.operations.join(', ')} | ${acl.names.map((n) => `\`${n}\``).join('<br>')} |`,
    );
} else {
  console.error(`unknown --format=${format}: args, markdown or principals`);
  process.exit(2);
}
