; ModuleID = 'llmc_ew'
source_filename = "llmc_ew"

; Function Attrs: nounwind
define void @llmc_ew(ptr %bufs, i64 %begin, i64 %end) #0 {
entry:
  %0 = getelementptr ptr, ptr %bufs, i64 0
  %in = load ptr, ptr %0, align 8
  %1 = getelementptr ptr, ptr %bufs, i64 1
  %in1 = load ptr, ptr %1, align 8
  %2 = getelementptr ptr, ptr %bufs, i64 2
  %out = load ptr, ptr %2, align 8
  %3 = sub i64 %end, %begin
  %4 = icmp sgt i64 %end, %begin
  %len = select i1 %4, i64 %3, i64 0
  %5 = and i64 %len, -16
  %vend = add i64 %begin, %5
  br label %vec.head

vec.head:                                         ; preds = %vec.body, %entry
  %i = phi i64 [ %begin, %entry ], [ %i.next, %vec.body ]
  %6 = icmp slt i64 %i, %vend
  br i1 %6, label %vec.body, label %rem.head

vec.body:                                         ; preds = %vec.head
  %7 = getelementptr float, ptr %in, i64 %i
  %8 = load <16 x float>, ptr %7, align 4
  %9 = urem i64 %i, 8
  %10 = add i64 0, %9
  %11 = getelementptr float, ptr %in1, i64 %10
  %12 = load float, ptr %11, align 4
  %13 = insertelement <16 x float> poison, float %12, i32 0
  %14 = add i64 %i, 1
  %15 = urem i64 %14, 8
  %16 = add i64 0, %15
  %17 = getelementptr float, ptr %in1, i64 %16
  %18 = load float, ptr %17, align 4
  %19 = insertelement <16 x float> %13, float %18, i32 1
  %20 = add i64 %i, 2
  %21 = urem i64 %20, 8
  %22 = add i64 0, %21
  %23 = getelementptr float, ptr %in1, i64 %22
  %24 = load float, ptr %23, align 4
  %25 = insertelement <16 x float> %19, float %24, i32 2
  %26 = add i64 %i, 3
  %27 = urem i64 %26, 8
  %28 = add i64 0, %27
  %29 = getelementptr float, ptr %in1, i64 %28
  %30 = load float, ptr %29, align 4
  %31 = insertelement <16 x float> %25, float %30, i32 3
  %32 = add i64 %i, 4
  %33 = urem i64 %32, 8
  %34 = add i64 0, %33
  %35 = getelementptr float, ptr %in1, i64 %34
  %36 = load float, ptr %35, align 4
  %37 = insertelement <16 x float> %31, float %36, i32 4
  %38 = add i64 %i, 5
  %39 = urem i64 %38, 8
  %40 = add i64 0, %39
  %41 = getelementptr float, ptr %in1, i64 %40
  %42 = load float, ptr %41, align 4
  %43 = insertelement <16 x float> %37, float %42, i32 5
  %44 = add i64 %i, 6
  %45 = urem i64 %44, 8
  %46 = add i64 0, %45
  %47 = getelementptr float, ptr %in1, i64 %46
  %48 = load float, ptr %47, align 4
  %49 = insertelement <16 x float> %43, float %48, i32 6
  %50 = add i64 %i, 7
  %51 = urem i64 %50, 8
  %52 = add i64 0, %51
  %53 = getelementptr float, ptr %in1, i64 %52
  %54 = load float, ptr %53, align 4
  %55 = insertelement <16 x float> %49, float %54, i32 7
  %56 = add i64 %i, 8
  %57 = urem i64 %56, 8
  %58 = add i64 0, %57
  %59 = getelementptr float, ptr %in1, i64 %58
  %60 = load float, ptr %59, align 4
  %61 = insertelement <16 x float> %55, float %60, i32 8
  %62 = add i64 %i, 9
  %63 = urem i64 %62, 8
  %64 = add i64 0, %63
  %65 = getelementptr float, ptr %in1, i64 %64
  %66 = load float, ptr %65, align 4
  %67 = insertelement <16 x float> %61, float %66, i32 9
  %68 = add i64 %i, 10
  %69 = urem i64 %68, 8
  %70 = add i64 0, %69
  %71 = getelementptr float, ptr %in1, i64 %70
  %72 = load float, ptr %71, align 4
  %73 = insertelement <16 x float> %67, float %72, i32 10
  %74 = add i64 %i, 11
  %75 = urem i64 %74, 8
  %76 = add i64 0, %75
  %77 = getelementptr float, ptr %in1, i64 %76
  %78 = load float, ptr %77, align 4
  %79 = insertelement <16 x float> %73, float %78, i32 11
  %80 = add i64 %i, 12
  %81 = urem i64 %80, 8
  %82 = add i64 0, %81
  %83 = getelementptr float, ptr %in1, i64 %82
  %84 = load float, ptr %83, align 4
  %85 = insertelement <16 x float> %79, float %84, i32 12
  %86 = add i64 %i, 13
  %87 = urem i64 %86, 8
  %88 = add i64 0, %87
  %89 = getelementptr float, ptr %in1, i64 %88
  %90 = load float, ptr %89, align 4
  %91 = insertelement <16 x float> %85, float %90, i32 13
  %92 = add i64 %i, 14
  %93 = urem i64 %92, 8
  %94 = add i64 0, %93
  %95 = getelementptr float, ptr %in1, i64 %94
  %96 = load float, ptr %95, align 4
  %97 = insertelement <16 x float> %91, float %96, i32 14
  %98 = add i64 %i, 15
  %99 = urem i64 %98, 8
  %100 = add i64 0, %99
  %101 = getelementptr float, ptr %in1, i64 %100
  %102 = load float, ptr %101, align 4
  %103 = insertelement <16 x float> %97, float %102, i32 15
  %104 = fadd <16 x float> %8, %103
  %105 = fmul <16 x float> %104, %8
  %106 = fcmp oge <16 x float> %105, zeroinitializer
  %107 = select <16 x i1> %106, <16 x float> %105, <16 x float> zeroinitializer
  %108 = select <16 x i1> zeroinitializer, <16 x float> zeroinitializer, <16 x float> %107
  %109 = fcmp uno <16 x float> %105, %105
  %110 = select <16 x i1> %109, <16 x float> %105, <16 x float> %108
  %111 = getelementptr float, ptr %out, i64 %i
  store <16 x float> %110, ptr %111, align 4
  %i.next = add i64 %i, 16
  br label %vec.head

rem.head:                                         ; preds = %rem.body, %vec.head
  %j = phi i64 [ %vend, %vec.head ], [ %j.next, %rem.body ]
  %112 = icmp slt i64 %j, %end
  br i1 %112, label %rem.body, label %seg.exit

rem.body:                                         ; preds = %rem.head
  %113 = getelementptr float, ptr %in, i64 %j
  %114 = load float, ptr %113, align 4
  %115 = urem i64 %j, 8
  %116 = add i64 0, %115
  %117 = getelementptr float, ptr %in1, i64 %116
  %118 = load float, ptr %117, align 4
  %119 = fadd float %114, %118
  %120 = fmul float %119, %114
  %121 = fcmp oge float %120, 0.000000e+00
  %122 = select i1 %121, float %120, float 0.000000e+00
  %123 = select i1 false, float 0.000000e+00, float %122
  %124 = fcmp uno float %120, %120
  %125 = select i1 %124, float %120, float %123
  %126 = getelementptr float, ptr %out, i64 %j
  store float %125, ptr %126, align 4
  %j.next = add i64 %j, 1
  br label %rem.head

seg.exit:                                         ; preds = %rem.head
  ret void
}

attributes #0 = { nounwind }
