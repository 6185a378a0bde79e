import { CoreError } from '../../errors';
import type { Dtype } from '../../tensor/dtypes';
import { onnxDataTypeName } from './onnx-codec';

/** TensorProto.DataType numbers of the element types that have a Weightsmith dtype. */
const DTYPE_BY_ONNX_TYPE: Readonly<Record<number, Dtype>> = {
  1: 'F32', // FLOAT
  2: 'U8', // UINT8
  3: 'I8', // INT8
  5: 'I16', // INT16
  6: 'I32', // INT32
  7: 'I64', // INT64
  9: 'BOOL', // BOOL
  10: 'F16', // FLOAT16
  11: 'F64', // DOUBLE
  16: 'BF16', // BFLOAT16
};

const ONNX_TYPE_BY_DTYPE: Readonly<Record<Dtype, number>> = {
  F32: 1,
  U8: 2,
  I8: 3,
  I16: 5,
  I32: 6,
  I64: 7,
  BOOL: 9,
  F16: 10,
  F64: 11,
  BF16: 16,
};

/** The dtype of an ONNX element type, or undefined when Weightsmith has none (STRING, UINT16, FP8, ...). */
export function dtypeOfOnnxType(dataType: number): Dtype | undefined {
  return Object.prototype.hasOwnProperty.call(DTYPE_BY_ONNX_TYPE, dataType) ? DTYPE_BY_ONNX_TYPE[dataType] : undefined;
}

/** Like dtypeOfOnnxType, but throws UNSUPPORTED_FORMAT naming the ONNX type (and the tensor). */
export function requireDtypeOfOnnxType(dataType: number, tensorName: string): Dtype {
  const dtype = dtypeOfOnnxType(dataType);
  if (dtype === undefined) {
    const typeName = onnxDataTypeName(dataType);
    throw new CoreError('UNSUPPORTED_FORMAT', `initializer '${tensorName}' has unsupported ONNX data type ${typeName}`, {
      tensor: tensorName,
      onnxDataType: dataType,
      onnxDataTypeName: typeName,
    });
  }
  return dtype;
}

/** The TensorProto.DataType number of a dtype. */
export function onnxTypeOfDtype(dtype: Dtype): number {
  return ONNX_TYPE_BY_DTYPE[dtype];
}
