#!/usr/bin/python3
# Generates ONNX node test cases for the NN kernels whose expected outputs come from PyTorch
# (ceil_mode/count_include_pad pools, grouped/dilated convs and transposed convs with constant
# weights, MatMul 1-D and broadcast cases, Gemm broadcasts, double and float16 paths).
# Usage: /usr/bin/python3 scripts/gen-nn-torch-cases.py [OUT_DIR]; then
#   build/tests/nalar_conformance --data OUT_DIR
import numpy as np, onnx, os, shutil, torch
import torch.nn.functional as F
from onnx import helper, numpy_helper, TensorProto
import sys
OUT=sys.argv[1] if len(sys.argv) > 1 else 'tests/data/nn-torch'
shutil.rmtree(OUT, ignore_errors=True)
rng=np.random.default_rng(0)
def r(*s, dt=np.float32): return rng.standard_normal(s).astype(dt)
NP2ONNX={np.float32:TensorProto.FLOAT, np.float64:TensorProto.DOUBLE, np.float16:TensorProto.FLOAT16, np.int64:TensorProto.INT64}
def case(name, op, inputs, outputs, attrs={}, inits={}, opset=13, domain=''):
    # inputs: list of (name, array); inits: name->array (constant); outputs list of arrays
    ins=[n for n,_ in inputs]
    node=helper.make_node(op, ins, [f'y{i}' for i in range(len(outputs))], domain=domain, **attrs)
    gin=[helper.make_tensor_value_info(n, NP2ONNX[a.dtype.type], a.shape) for n,a in inputs if n not in inits and n!='']
    gout=[helper.make_tensor_value_info(f'y{i}', NP2ONNX[o.dtype.type], o.shape) for i,o in enumerate(outputs)]
    g=helper.make_graph([node], name, gin, gout, initializer=[numpy_helper.from_array(a, n) for n,a in inits.items()])
    ops=[helper.make_opsetid('', opset)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    m=helper.make_model(g, opset_imports=ops)
    d=os.path.join(OUT, 'test_'+name); os.makedirs(d+'/test_data_set_0')
    onnx.save(m, d+'/model.onnx')
    k=0
    for n,a in inputs:
        if n in inits or n=='': continue
        t=numpy_helper.from_array(a, n); open(f'{d}/test_data_set_0/input_{k}.pb','wb').write(t.SerializeToString()); k+=1
    for i,o in enumerate(outputs):
        t=numpy_helper.from_array(o, f'y{i}'); open(f'{d}/test_data_set_0/output_{i}.pb','wb').write(t.SerializeToString())
T=torch.from_numpy
def np_(t): return t.detach().numpy()
# pools vs torch
x=r(2,3,9,10)
for cip in (0,1):
    y=np_(F.avg_pool2d(T(x),3,2,1,ceil_mode=True,count_include_pad=bool(cip)))
    case(f'avgpool_ceil_cip{cip}','AveragePool',[('x',x)],[y],dict(kernel_shape=[3,3],strides=[2,2],pads=[1,1,1,1],ceil_mode=1,count_include_pad=cip),opset=11)
y=np_(F.avg_pool2d(T(x),2,2,ceil_mode=True))
case('avgpool_densenet_ceil','AveragePool',[('x',x)],[y],dict(kernel_shape=[2,2],strides=[2,2],ceil_mode=1),opset=11)
y=np_(F.max_pool2d(T(x),3,2,ceil_mode=True))
case('maxpool_squeezenet_ceil','MaxPool',[('x',x)],[y],dict(kernel_shape=[3,3],strides=[2,2],ceil_mode=1),opset=12)
y,idx=F.max_pool2d(T(x),3,2,1,dilation=2,ceil_mode=True,return_indices=True)
case('maxpool_dil_ceil_idx','MaxPool',[('x',x)],[np_(y),(np_(idx)+np.arange(6).reshape(2,3,1,1)*90).astype(np.int64)],dict(kernel_shape=[3,3],strides=[2,2],pads=[1,1,1,1],dilations=[2,2],ceil_mode=1),opset=12)
x1=r(2,4,17); y=np_(F.max_pool1d(T(x1),4,3,2,ceil_mode=True)); case('maxpool1d_ceil','MaxPool',[('x',x1)],[y],dict(kernel_shape=[4],strides=[3],pads=[2,2],ceil_mode=1),opset=12)
x3=r(1,2,7,8,9); y=np_(F.avg_pool3d(T(x3),3,2,1,ceil_mode=False,count_include_pad=False)); case('avgpool3d_pad','AveragePool',[('x',x3)],[y],dict(kernel_shape=[3,3,3],strides=[2,2,2],pads=[1,1,1,1,1,1]),opset=11)
y=np_(F.lp_pool2d(T(x),2,3,2)); case('lppool2d','LpPool',[('x',x)],[y],dict(kernel_shape=[3,3],strides=[2,2],p=2),opset=11)
# convs with constant weights (packed path)
for dt in (np.float32, np.float64):
    tag='f' if dt==np.float32 else 'd'
    x=r(2,6,12,11,dt=dt); w=r(9,2,3,3,dt=dt); b=r(9,dt=dt)
    y=np_(F.conv2d(T(x),T(w),T(b),stride=(2,1),padding=(1,2),dilation=(2,1),groups=3))
    case(f'conv2d_grp_{tag}','Conv',[('x',x),('w',w),('b',b)],[y],dict(strides=[2,1],pads=[1,2,1,2],dilations=[2,1],group=3),inits={'w':w,'b':b})
    x=r(2,4,20,dt=dt); w=r(6,2,5,dt=dt)
    y=np_(F.conv1d(T(x),T(w),None,stride=3,padding=2,dilation=2,groups=2))
    case(f'conv1d_{tag}','Conv',[('x',x),('w',w)],[y],dict(strides=[3],pads=[2,2],dilations=[2],group=2),inits={'w':w})
    x=r(1,4,6,7,8,dt=dt); w=r(4,1,3,3,3,dt=dt); b=r(4,dt=dt)
    y=np_(F.conv3d(T(x),T(w),T(b),stride=2,padding=1,groups=4))
    case(f'conv3d_dw_{tag}','Conv',[('x',x),('w',w),('b',b)],[y],dict(strides=[2,2,2],pads=[1,1,1,1,1,1],group=4),inits={'w':w,'b':b})
    x=r(2,4,5,6,dt=dt); w=r(4,3,3,4,dt=dt); b=r(6,dt=dt)
    y=np_(F.conv_transpose2d(T(x),T(w),T(b),stride=(2,3),padding=(1,2),output_padding=(1,2),groups=2,dilation=(1,2)))
    case(f'convtr2d_{tag}','ConvTranspose',[('x',x),('w',w),('b',b)],[y],dict(strides=[2,3],pads=[1,2,1,2],output_padding=[1,2],group=2,dilations=[1,2]),inits={'w':w})
    x=r(1,3,7,dt=dt); w=r(3,2,4,dt=dt)
    y=np_(F.conv_transpose1d(T(x),T(w),None,stride=2,padding=1))
    case(f'convtr1d_{tag}','ConvTranspose',[('x',x),('w',w)],[y],dict(strides=[2],pads=[1,1]))
    x=r(1,2,3,4,5,dt=dt); w=r(2,3,2,3,2,dt=dt)
    y=np_(F.conv_transpose3d(T(x),T(w),None,stride=2,padding=(0,1,0)))
    case(f'convtr3d_{tag}','ConvTranspose',[('x',x),('w',w)],[y],dict(strides=[2,2,2],pads=[0,1,0,0,1,0]),inits={'w':w})
# float16 conv (compare loosely: computed in float)
x=r(1,3,8,8); w=r(4,3,3,3)
y=np_(F.conv2d(T(x.astype(np.float16).astype(np.float32)),T(w.astype(np.float16).astype(np.float32)),padding=1)).astype(np.float16)
case('conv2d_h','Conv',[('x',x.astype(np.float16)),('w',w.astype(np.float16))],[y],dict(pads=[1,1,1,1]))
# matmul
a=r(2,3,4,5); bm=r(5,6)
case('matmul_constb_3d','MatMul',[('a',a),('b',bm)],[a@bm],inits={'b':bm})
v=r(5); B3=r(3,5,6); case('matmul_vec_mat','MatMul',[('a',v),('b',B3)],[(v@B3).astype(np.float32)])
case('matmul_mat_vec','MatMul',[('a',a),('b',v)],[(a@v).astype(np.float32)])
case('matmul_vec_vec','MatMul',[('a',v),('b',v)],[np.array(v@v,dtype=np.float32)])
A=r(2,1,3,4); Bb=r(5,4,2); case('matmul_bcast','MatMul',[('a',A),('b',Bb)],[A@Bb])
Ad=r(2,3,4,dt=np.float64); Bd=r(4,2,dt=np.float64); case('matmul_double','MatMul',[('a',Ad),('b',Bd)],[Ad@Bd])
# gemm
A=r(4,3); B=r(5,4); C=r(3,1)
case('gemm_tA_tB_col_c','Gemm',[('a',A),('b',B),('c',C)],[(0.5*A.T@B.T+0.25*C).astype(np.float32)],dict(transA=1,transB=1,alpha=0.5,beta=0.25),inits={'b':B})
A=r(3,4); B=r(5,4); C=r(5)
case('gemm_fc','Gemm',[('a',A),('b',B),('c',C)],[(A@B.T+C).astype(np.float32)],dict(transB=1),inits={'b':B,'c':C})
# layernorm vs torch
x=r(2,5,16); s=r(16); bb=r(16)
y=np_(F.layer_norm(T(x),(16,),T(s),T(bb),1e-5))
case('layernorm_torch','LayerNormalization',[('x',x),('s',s),('b',bb)],[y],dict(axis=-1),inits={'s':s,'b':bb},opset=17)
# softmax opset 11 flatten
x=r(2,3,4); e=np.exp(x.reshape(2,12)-x.reshape(2,12).max(1,keepdims=True)); y=(e/e.sum(1,keepdims=True)).reshape(2,3,4)
case('softmax_opset11_flatten','Softmax',[('x',x)],[y.astype(np.float32)],opset=11)
ld=np.log(y.astype(np.float64)); case('logsoftmax_double','LogSoftmax',[('x',x.astype(np.float64))],[np.log(np.exp(x.astype(np.float64))/np.exp(x.astype(np.float64)).sum(-1,keepdims=True))])
# batchnorm with constants & double; instance norm vs torch
x=r(2,3,4,5); sc=r(3); bi=r(3); mu=r(3); var=np.abs(r(3))+0.1
y=np_(F.batch_norm(T(x),T(mu),T(var),T(sc),T(bi),False,0.1,1e-5))
case('batchnorm_const','BatchNormalization',[('x',x),('s',sc),('b',bi),('m',mu),('v',var)],[y],inits={'s':sc,'b':bi,'m':mu,'v':var},opset=9)
y=np_(F.instance_norm(T(x),weight=T(sc),bias=T(bi),eps=1e-5))
case('instancenorm_torch','InstanceNormalization',[('x',x),('s',sc),('b',bi)],[y],inits={'s':sc,'b':bi},opset=6)
y=np_(F.local_response_norm(T(x),4,1e-3,0.75,2.0))
case('lrn_even_torch','LRN',[('x',x)],[y],dict(size=4,alpha=1e-3,beta=0.75,bias=2.0))
# FusedConv (com.microsoft): activation(conv + B + Z), the fusion target
for dt in (np.float32, np.float64):
    tag='f' if dt==np.float32 else 'd'
    x=r(1,8,10,10,dt=dt); w=r(8,8,3,3,dt=dt); b=r(8,dt=dt); z=(np.abs(r(1,8,10,10))+20).astype(dt)  # far from relu's kink: no cancellation
    c=F.conv2d(T(x),T(w),T(b),padding=1)
    case(f'fusedconv_relu_sum_{tag}','FusedConv',[('x',x),('w',w),('b',b),('z',z)],[np_(torch.relu(c+T(z)))],dict(pads=[1,1,1,1],activation='Relu'),inits={'w':w,'b':b},domain='com.microsoft')
    case(f'fusedconv_hardsigmoid_{tag}','FusedConv',[('x',x),('w',w),('b',b)],[np_(torch.clamp(0.2*c+0.5,0,1))],dict(pads=[1,1,1,1],activation='HardSigmoid',activation_params=[0.2,0.5]),inits={'w':w,'b':b},domain='com.microsoft')
    xd=r(1,16,9,9,dt=dt); wd=r(16,1,3,3,dt=dt)
    case(f'fusedconv_dw_clip_{tag}','FusedConv',[('x',xd),('w',wd)],[np_(torch.clamp(F.conv2d(T(xd),T(wd),None,stride=2,padding=1,groups=16),0,6))],dict(pads=[1,1,1,1],strides=[2,2],group=16,activation='Clip',activation_params=[0.0,6.0]),inits={'w':wd},domain='com.microsoft')
print('ok')
