/**
 * What server reflection serves: the real per-file descriptors of proto/ (built by `buf build` at `npm run gen`,
 * with their imports intact, so tools like buf curl and grpcurl can resolve every type), grpc.health.v1 included.
 * (Descriptors made by proto-loader merge files per package and drop imports, which reflection clients reject.)
 */
import type { PackageDefinition } from '@grpc/proto-loader';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { fileDescriptorSetBase64 } from '../../proto/src/index.js';

interface FileDescriptorProtoLike {
  name?: string;
}

let cached: PackageDefinition | undefined;

export function reflectionDescriptors(): PackageDefinition {
  if (cached !== undefined) return cached;
  const set = descriptor.FileDescriptorSet.decode(Buffer.from(fileDescriptorSetBase64, 'base64')) as unknown as {
    file: FileDescriptorProtoLike[];
  };
  const ours = set.file.map((file) => descriptor.FileDescriptorProto.encode(file).finish());
  // @grpc/reflection reads only `fileDescriptorProtos` of each entry
  cached = { descriptors: { fileDescriptorProtos: ours } as unknown as PackageDefinition[string] };
  return cached;
}
