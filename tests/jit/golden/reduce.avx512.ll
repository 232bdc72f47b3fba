; ModuleID = 'llmc_red'
source_filename = "llmc_red"

; Function Attrs: nounwind
define void @llmc_red(ptr %bufs, i64 %begin, i64 %end) #0 {
entry:
  %0 = getelementptr ptr, ptr %bufs, i64 0
  %in = load ptr, ptr %0, align 8
  %1 = getelementptr ptr, ptr %bufs, i64 1
  %out = load ptr, ptr %1, align 8
  br label %out.head

out.head:                                         ; preds = %out.next, %entry
  %idx = phi i64 [ %begin, %entry ], [ %idx.next, %out.next ]
  %2 = icmp slt i64 %idx, %end
  br i1 %2, label %out.body, label %exit

out.body:                                         ; preds = %out.head
  %o = udiv i64 %idx, 1
  %3 = mul i64 %o, 1
  %j = sub i64 %idx, %3
  %4 = mul i64 %o, 20
  %first = add i64 %4, %j
  br label %scalar

scalar:                                           ; preds = %out.body
  br label %row.vec

out.next:                                         ; preds = %row.tdone
  %idx.next = phi i64 [ %23, %row.tdone ]
  br label %out.head

exit:                                             ; preds = %out.head
  ret void

row.vec:                                          ; preds = %row.vec, %scalar
  %j1 = phi i64 [ 0, %scalar ], [ %j.next, %row.vec ]
  %a = phi <16 x float> [ <float -0.000000e+00, float -0.000000e+00, float -0.000000e+00, float -0.000000e+00, float -0.000000e+00, float -0.000000e+00, float -0.000000e+00, float -0.000000e+00, float -0.000000e+00, float -0.000000e+00, float -0.000000e+00, float -0.000000e+00, float -0.000000e+00, float -0.000000e+00, float -0.000000e+00, float -0.000000e+00>, %scalar ], [ %acc, %row.vec ]
  %at = add i64 %first, %j1
  %5 = getelementptr float, ptr %in, i64 %at
  %6 = load <16 x float>, ptr %5, align 4
  %7 = fmul <16 x float> %6, %6
  %acc = fadd <16 x float> %a, %7
  %j.next = add i64 %j1, 16
  %8 = icmp slt i64 %j.next, 16
  br i1 %8, label %row.vec, label %row.vdone

row.vdone:                                        ; preds = %row.vec
  br label %row.tail

row.tail:                                         ; preds = %row.tail, %row.vdone
  %t = phi i64 [ 16, %row.vdone ], [ %t.next, %row.tail ]
  %a2 = phi <16 x float> [ %acc, %row.vdone ], [ %acc5, %row.tail ]
  %at3 = add i64 %first, %t
  %9 = getelementptr float, ptr %in, i64 %at3
  %10 = load float, ptr %9, align 4
  %11 = fmul float %10, %10
  %lane = sub i64 %t, 16
  %12 = extractelement <16 x float> %a2, i64 %lane
  %acc4 = fadd float %12, %11
  %acc5 = insertelement <16 x float> %a2, float %acc4, i64 %lane
  %t.next = add i64 %t, 1
  %13 = icmp slt i64 %t.next, 20
  br i1 %13, label %row.tail, label %row.tdone

row.tdone:                                        ; preds = %row.tail
  %14 = shufflevector <16 x float> %acc5, <16 x float> poison, <8 x i32> <i32 0, i32 1, i32 2, i32 3, i32 4, i32 5, i32 6, i32 7>
  %15 = shufflevector <16 x float> %acc5, <16 x float> poison, <8 x i32> <i32 8, i32 9, i32 10, i32 11, i32 12, i32 13, i32 14, i32 15>
  %acc6 = fadd <8 x float> %14, %15
  %16 = shufflevector <8 x float> %acc6, <8 x float> poison, <4 x i32> <i32 0, i32 1, i32 2, i32 3>
  %17 = shufflevector <8 x float> %acc6, <8 x float> poison, <4 x i32> <i32 4, i32 5, i32 6, i32 7>
  %acc7 = fadd <4 x float> %16, %17
  %18 = shufflevector <4 x float> %acc7, <4 x float> poison, <2 x i32> <i32 0, i32 1>
  %19 = shufflevector <4 x float> %acc7, <4 x float> poison, <2 x i32> <i32 2, i32 3>
  %acc8 = fadd <2 x float> %18, %19
  %20 = shufflevector <2 x float> %acc8, <2 x float> poison, <1 x i32> zeroinitializer
  %21 = shufflevector <2 x float> %acc8, <2 x float> poison, <1 x i32> <i32 1>
  %acc9 = fadd <1 x float> %20, %21
  %red = extractelement <1 x float> %acc9, i64 0
  %22 = getelementptr float, ptr %out, i64 %idx
  store float %red, ptr %22, align 4
  %23 = add i64 %idx, 1
  br label %out.next
}

attributes #0 = { nounwind }
