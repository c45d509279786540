declare module "asl-validator" {
  const validator: (definition: unknown) => { isValid: boolean; errors: unknown[] };
  export default validator;
}
