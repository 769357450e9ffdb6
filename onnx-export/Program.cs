Console.Error.WriteLine("onnx-export: pending");
return 2;
