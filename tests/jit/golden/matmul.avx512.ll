; ModuleID = 'llmc_mmk'
source_filename = "llmc_mmk"

; Function Attrs: nounwind
define void @llmc_mmk(ptr %bufs, i64 %begin, i64 %end) #0 {
entry:
  %0 = getelementptr ptr, ptr %bufs, i64 0
  %A = load ptr, ptr %0, align 8
  %1 = getelementptr ptr, ptr %bufs, i64 1
  %B = load ptr, ptr %1, align 8
  %2 = getelementptr ptr, ptr %bufs, i64 3
  %C = load ptr, ptr %2, align 8
  %3 = getelementptr ptr, ptr %bufs, i64 0
  %in = load ptr, ptr %3, align 8
  %4 = getelementptr ptr, ptr %bufs, i64 1
  %in1 = load ptr, ptr %4, align 8
  %5 = getelementptr ptr, ptr %bufs, i64 2
  %in2 = load ptr, ptr %5, align 8
  %6 = getelementptr ptr, ptr %bufs, i64 3
  %out = load ptr, ptr %6, align 8
  %Ap = alloca [3584 x float], align 64
  %Bp = alloca [8192 x float], align 64
  %tile = alloca [448 x float], align 64
  br label %task

task:                                             ; preds = %done50, %entry
  %task3 = phi i64 [ %begin, %entry ], [ %426, %done50 ]
  %7 = icmp slt i64 %task3, %end
  br i1 %7, label %body, label %done

body:                                             ; preds = %task
  %b = sdiv i64 %task3, 1
  %8 = srem i64 %task3, 1
  %mb = sdiv i64 %8, 1
  %nb = srem i64 %8, 1
  %m0 = mul i64 %mb, 14
  %n0 = mul i64 %nb, 32
  %9 = sub i64 4, %m0
  %10 = icmp slt i64 14, %9
  %11 = select i1 %10, i64 14, i64 %9
  %12 = sub i64 16, %n0
  %13 = icmp slt i64 32, %12
  %14 = select i1 %13, i64 32, i64 %12
  %15 = mul i64 %b, 0
  %16 = mul i64 %b, 0
  %17 = getelementptr float, ptr %A, i64 %15
  %18 = getelementptr float, ptr %B, i64 %16
  %19 = mul i64 %b, 64
  %20 = getelementptr float, ptr %C, i64 %19
  %21 = add i64 %14, 31
  %22 = sdiv i64 %21, 32
  br label %kblock

done:                                             ; preds = %task
  ret void

kblock:                                           ; preds = %done11, %body
  %pc = phi i64 [ 0, %body ], [ %66, %done11 ]
  %23 = sub i64 8, %pc
  %24 = icmp slt i64 256, %23
  %25 = select i1 %24, i64 256, i64 %23
  %first = icmp eq i64 %pc, 0
  br label %pack.panel

kblock.done:                                      ; preds = %done11
  br label %epi.row

pack.panel:                                       ; preds = %done8, %kblock
  %pack.panel6 = phi i64 [ 0, %kblock ], [ %57, %done8 ]
  %26 = icmp slt i64 %pack.panel6, %22
  br i1 %26, label %body4, label %done5

body4:                                            ; preds = %pack.panel
  %27 = mul i64 %pack.panel6, 32
  %28 = add i64 %n0, %27
  %29 = sub i64 16, %28
  %30 = icmp slt i64 32, %29
  %31 = select i1 %30, i64 32, i64 %29
  %32 = insertelement <16 x i64> poison, i64 %31, i32 0
  %33 = shufflevector <16 x i64> %32, <16 x i64> poison, <16 x i32> zeroinitializer
  %34 = icmp slt <16 x i64> <i64 0, i64 1, i64 2, i64 3, i64 4, i64 5, i64 6, i64 7, i64 8, i64 9, i64 10, i64 11, i64 12, i64 13, i64 14, i64 15>, %33
  %35 = insertelement <16 x i64> poison, i64 %31, i32 0
  %36 = shufflevector <16 x i64> %35, <16 x i64> poison, <16 x i32> zeroinitializer
  %37 = icmp slt <16 x i64> <i64 16, i64 17, i64 18, i64 19, i64 20, i64 21, i64 22, i64 23, i64 24, i64 25, i64 26, i64 27, i64 28, i64 29, i64 30, i64 31>, %36
  %38 = mul i64 %25, 32
  %39 = mul i64 %pack.panel6, %38
  %40 = getelementptr float, ptr %Bp, i64 %39
  br label %pack.k

done5:                                            ; preds = %pack.panel
  %41 = add i64 %11, 13
  %42 = sdiv i64 %41, 14
  br label %ablock

pack.k:                                           ; preds = %body7, %body4
  %pack.k9 = phi i64 [ 0, %body4 ], [ %56, %body7 ]
  %43 = icmp slt i64 %pack.k9, %25
  br i1 %43, label %body7, label %done8

body7:                                            ; preds = %pack.k
  %44 = add i64 %pc, %pack.k9
  %45 = mul i64 %44, 16
  %46 = add i64 %28, %45
  %47 = getelementptr float, ptr %18, i64 %46
  %48 = mul i64 %pack.k9, 32
  %49 = getelementptr float, ptr %40, i64 %48
  %50 = getelementptr float, ptr %47, i64 0
  %51 = call <16 x float> @llvm.masked.load.v16f32.p0(ptr %50, i32 4, <16 x i1> %34, <16 x float> zeroinitializer)
  %52 = getelementptr float, ptr %49, i64 0
  store <16 x float> %51, ptr %52, align 4
  %53 = getelementptr float, ptr %47, i64 16
  %54 = call <16 x float> @llvm.masked.load.v16f32.p0(ptr %53, i32 4, <16 x i1> %37, <16 x float> zeroinitializer)
  %55 = getelementptr float, ptr %49, i64 16
  store <16 x float> %54, ptr %55, align 4
  %56 = add i64 %pack.k9, 1
  br label %pack.k

done8:                                            ; preds = %pack.k
  %57 = add i64 %pack.panel6, 1
  br label %pack.panel

ablock:                                           ; preds = %done30, %done5
  %ablock12 = phi i64 [ 0, %done5 ], [ %370, %done30 ]
  %58 = icmp slt i64 %ablock12, %42
  br i1 %58, label %body10, label %done11

body10:                                           ; preds = %ablock
  %ia = mul i64 %ablock12, 14
  %59 = sub i64 %11, %ia
  %60 = icmp slt i64 14, %59
  %61 = select i1 %60, i64 14, i64 %59
  %62 = add i64 %61, 13
  %63 = sdiv i64 %62, 14
  %64 = add i64 %m0, %ia
  %65 = sdiv i64 %25, 16
  %kmain = mul i64 %65, 16
  br label %packt.panel

done11:                                           ; preds = %ablock
  %66 = add i64 %pc, 256
  %67 = icmp slt i64 %66, 8
  br i1 %67, label %kblock, label %kblock.done

packt.panel:                                      ; preds = %done17, %body10
  %packt.panel15 = phi i64 [ 0, %body10 ], [ %344, %done17 ]
  %68 = icmp slt i64 %packt.panel15, %63
  br i1 %68, label %body13, label %done14

body13:                                           ; preds = %packt.panel
  %69 = mul i64 %packt.panel15, 14
  %70 = add i64 %64, %69
  %71 = mul i64 %25, 14
  %72 = mul i64 %packt.panel15, %71
  %73 = getelementptr float, ptr %Ap, i64 %72
  %74 = add i64 %70, 0
  %75 = icmp slt i64 %74, 4
  %76 = select i1 %75, i64 %74, i64 3
  %77 = mul i64 %76, 8
  %78 = add i64 %77, %pc
  %79 = getelementptr float, ptr %17, i64 %78
  %80 = insertelement <16 x i1> poison, i1 %75, i32 0
  %81 = shufflevector <16 x i1> %80, <16 x i1> poison, <16 x i32> zeroinitializer
  %82 = add i64 %70, 1
  %83 = icmp slt i64 %82, 4
  %84 = select i1 %83, i64 %82, i64 3
  %85 = mul i64 %84, 8
  %86 = add i64 %85, %pc
  %87 = getelementptr float, ptr %17, i64 %86
  %88 = insertelement <16 x i1> poison, i1 %83, i32 0
  %89 = shufflevector <16 x i1> %88, <16 x i1> poison, <16 x i32> zeroinitializer
  %90 = add i64 %70, 2
  %91 = icmp slt i64 %90, 4
  %92 = select i1 %91, i64 %90, i64 3
  %93 = mul i64 %92, 8
  %94 = add i64 %93, %pc
  %95 = getelementptr float, ptr %17, i64 %94
  %96 = insertelement <16 x i1> poison, i1 %91, i32 0
  %97 = shufflevector <16 x i1> %96, <16 x i1> poison, <16 x i32> zeroinitializer
  %98 = add i64 %70, 3
  %99 = icmp slt i64 %98, 4
  %100 = select i1 %99, i64 %98, i64 3
  %101 = mul i64 %100, 8
  %102 = add i64 %101, %pc
  %103 = getelementptr float, ptr %17, i64 %102
  %104 = insertelement <16 x i1> poison, i1 %99, i32 0
  %105 = shufflevector <16 x i1> %104, <16 x i1> poison, <16 x i32> zeroinitializer
  %106 = add i64 %70, 4
  %107 = icmp slt i64 %106, 4
  %108 = select i1 %107, i64 %106, i64 3
  %109 = mul i64 %108, 8
  %110 = add i64 %109, %pc
  %111 = getelementptr float, ptr %17, i64 %110
  %112 = insertelement <16 x i1> poison, i1 %107, i32 0
  %113 = shufflevector <16 x i1> %112, <16 x i1> poison, <16 x i32> zeroinitializer
  %114 = add i64 %70, 5
  %115 = icmp slt i64 %114, 4
  %116 = select i1 %115, i64 %114, i64 3
  %117 = mul i64 %116, 8
  %118 = add i64 %117, %pc
  %119 = getelementptr float, ptr %17, i64 %118
  %120 = insertelement <16 x i1> poison, i1 %115, i32 0
  %121 = shufflevector <16 x i1> %120, <16 x i1> poison, <16 x i32> zeroinitializer
  %122 = add i64 %70, 6
  %123 = icmp slt i64 %122, 4
  %124 = select i1 %123, i64 %122, i64 3
  %125 = mul i64 %124, 8
  %126 = add i64 %125, %pc
  %127 = getelementptr float, ptr %17, i64 %126
  %128 = insertelement <16 x i1> poison, i1 %123, i32 0
  %129 = shufflevector <16 x i1> %128, <16 x i1> poison, <16 x i32> zeroinitializer
  %130 = add i64 %70, 7
  %131 = icmp slt i64 %130, 4
  %132 = select i1 %131, i64 %130, i64 3
  %133 = mul i64 %132, 8
  %134 = add i64 %133, %pc
  %135 = getelementptr float, ptr %17, i64 %134
  %136 = insertelement <16 x i1> poison, i1 %131, i32 0
  %137 = shufflevector <16 x i1> %136, <16 x i1> poison, <16 x i32> zeroinitializer
  %138 = add i64 %70, 8
  %139 = icmp slt i64 %138, 4
  %140 = select i1 %139, i64 %138, i64 3
  %141 = mul i64 %140, 8
  %142 = add i64 %141, %pc
  %143 = getelementptr float, ptr %17, i64 %142
  %144 = insertelement <16 x i1> poison, i1 %139, i32 0
  %145 = shufflevector <16 x i1> %144, <16 x i1> poison, <16 x i32> zeroinitializer
  %146 = add i64 %70, 9
  %147 = icmp slt i64 %146, 4
  %148 = select i1 %147, i64 %146, i64 3
  %149 = mul i64 %148, 8
  %150 = add i64 %149, %pc
  %151 = getelementptr float, ptr %17, i64 %150
  %152 = insertelement <16 x i1> poison, i1 %147, i32 0
  %153 = shufflevector <16 x i1> %152, <16 x i1> poison, <16 x i32> zeroinitializer
  %154 = add i64 %70, 10
  %155 = icmp slt i64 %154, 4
  %156 = select i1 %155, i64 %154, i64 3
  %157 = mul i64 %156, 8
  %158 = add i64 %157, %pc
  %159 = getelementptr float, ptr %17, i64 %158
  %160 = insertelement <16 x i1> poison, i1 %155, i32 0
  %161 = shufflevector <16 x i1> %160, <16 x i1> poison, <16 x i32> zeroinitializer
  %162 = add i64 %70, 11
  %163 = icmp slt i64 %162, 4
  %164 = select i1 %163, i64 %162, i64 3
  %165 = mul i64 %164, 8
  %166 = add i64 %165, %pc
  %167 = getelementptr float, ptr %17, i64 %166
  %168 = insertelement <16 x i1> poison, i1 %163, i32 0
  %169 = shufflevector <16 x i1> %168, <16 x i1> poison, <16 x i32> zeroinitializer
  %170 = add i64 %70, 12
  %171 = icmp slt i64 %170, 4
  %172 = select i1 %171, i64 %170, i64 3
  %173 = mul i64 %172, 8
  %174 = add i64 %173, %pc
  %175 = getelementptr float, ptr %17, i64 %174
  %176 = insertelement <16 x i1> poison, i1 %171, i32 0
  %177 = shufflevector <16 x i1> %176, <16 x i1> poison, <16 x i32> zeroinitializer
  %178 = add i64 %70, 13
  %179 = icmp slt i64 %178, 4
  %180 = select i1 %179, i64 %178, i64 3
  %181 = mul i64 %180, 8
  %182 = add i64 %181, %pc
  %183 = getelementptr float, ptr %17, i64 %182
  %184 = insertelement <16 x i1> poison, i1 %179, i32 0
  %185 = shufflevector <16 x i1> %184, <16 x i1> poison, <16 x i32> zeroinitializer
  %186 = sdiv i64 %kmain, 16
  br label %packt.k

done14:                                           ; preds = %packt.panel
  br label %pack.panel19

packt.k:                                          ; preds = %body16, %body13
  %packt.k18 = phi i64 [ 0, %body13 ], [ %343, %body16 ]
  %187 = icmp slt i64 %packt.k18, %186
  br i1 %187, label %body16, label %done17

body16:                                           ; preds = %packt.k
  %188 = mul i64 %packt.k18, 16
  %189 = getelementptr float, ptr %79, i64 %188
  %190 = call <16 x float> @llvm.masked.load.v16f32.p0(ptr %189, i32 4, <16 x i1> %81, <16 x float> zeroinitializer)
  %191 = getelementptr float, ptr %87, i64 %188
  %192 = call <16 x float> @llvm.masked.load.v16f32.p0(ptr %191, i32 4, <16 x i1> %89, <16 x float> zeroinitializer)
  %193 = getelementptr float, ptr %95, i64 %188
  %194 = call <16 x float> @llvm.masked.load.v16f32.p0(ptr %193, i32 4, <16 x i1> %97, <16 x float> zeroinitializer)
  %195 = getelementptr float, ptr %103, i64 %188
  %196 = call <16 x float> @llvm.masked.load.v16f32.p0(ptr %195, i32 4, <16 x i1> %105, <16 x float> zeroinitializer)
  %197 = getelementptr float, ptr %111, i64 %188
  %198 = call <16 x float> @llvm.masked.load.v16f32.p0(ptr %197, i32 4, <16 x i1> %113, <16 x float> zeroinitializer)
  %199 = getelementptr float, ptr %119, i64 %188
  %200 = call <16 x float> @llvm.masked.load.v16f32.p0(ptr %199, i32 4, <16 x i1> %121, <16 x float> zeroinitializer)
  %201 = getelementptr float, ptr %127, i64 %188
  %202 = call <16 x float> @llvm.masked.load.v16f32.p0(ptr %201, i32 4, <16 x i1> %129, <16 x float> zeroinitializer)
  %203 = getelementptr float, ptr %135, i64 %188
  %204 = call <16 x float> @llvm.masked.load.v16f32.p0(ptr %203, i32 4, <16 x i1> %137, <16 x float> zeroinitializer)
  %205 = getelementptr float, ptr %143, i64 %188
  %206 = call <16 x float> @llvm.masked.load.v16f32.p0(ptr %205, i32 4, <16 x i1> %145, <16 x float> zeroinitializer)
  %207 = getelementptr float, ptr %151, i64 %188
  %208 = call <16 x float> @llvm.masked.load.v16f32.p0(ptr %207, i32 4, <16 x i1> %153, <16 x float> zeroinitializer)
  %209 = getelementptr float, ptr %159, i64 %188
  %210 = call <16 x float> @llvm.masked.load.v16f32.p0(ptr %209, i32 4, <16 x i1> %161, <16 x float> zeroinitializer)
  %211 = getelementptr float, ptr %167, i64 %188
  %212 = call <16 x float> @llvm.masked.load.v16f32.p0(ptr %211, i32 4, <16 x i1> %169, <16 x float> zeroinitializer)
  %213 = getelementptr float, ptr %175, i64 %188
  %214 = call <16 x float> @llvm.masked.load.v16f32.p0(ptr %213, i32 4, <16 x i1> %177, <16 x float> zeroinitializer)
  %215 = getelementptr float, ptr %183, i64 %188
  %216 = call <16 x float> @llvm.masked.load.v16f32.p0(ptr %215, i32 4, <16 x i1> %185, <16 x float> zeroinitializer)
  %217 = shufflevector <16 x float> %190, <16 x float> %192, <16 x i32> <i32 0, i32 16, i32 2, i32 18, i32 4, i32 20, i32 6, i32 22, i32 8, i32 24, i32 10, i32 26, i32 12, i32 28, i32 14, i32 30>
  %218 = shufflevector <16 x float> %190, <16 x float> %192, <16 x i32> <i32 1, i32 17, i32 3, i32 19, i32 5, i32 21, i32 7, i32 23, i32 9, i32 25, i32 11, i32 27, i32 13, i32 29, i32 15, i32 31>
  %219 = shufflevector <16 x float> %194, <16 x float> %196, <16 x i32> <i32 0, i32 16, i32 2, i32 18, i32 4, i32 20, i32 6, i32 22, i32 8, i32 24, i32 10, i32 26, i32 12, i32 28, i32 14, i32 30>
  %220 = shufflevector <16 x float> %194, <16 x float> %196, <16 x i32> <i32 1, i32 17, i32 3, i32 19, i32 5, i32 21, i32 7, i32 23, i32 9, i32 25, i32 11, i32 27, i32 13, i32 29, i32 15, i32 31>
  %221 = shufflevector <16 x float> %198, <16 x float> %200, <16 x i32> <i32 0, i32 16, i32 2, i32 18, i32 4, i32 20, i32 6, i32 22, i32 8, i32 24, i32 10, i32 26, i32 12, i32 28, i32 14, i32 30>
  %222 = shufflevector <16 x float> %198, <16 x float> %200, <16 x i32> <i32 1, i32 17, i32 3, i32 19, i32 5, i32 21, i32 7, i32 23, i32 9, i32 25, i32 11, i32 27, i32 13, i32 29, i32 15, i32 31>
  %223 = shufflevector <16 x float> %202, <16 x float> %204, <16 x i32> <i32 0, i32 16, i32 2, i32 18, i32 4, i32 20, i32 6, i32 22, i32 8, i32 24, i32 10, i32 26, i32 12, i32 28, i32 14, i32 30>
  %224 = shufflevector <16 x float> %202, <16 x float> %204, <16 x i32> <i32 1, i32 17, i32 3, i32 19, i32 5, i32 21, i32 7, i32 23, i32 9, i32 25, i32 11, i32 27, i32 13, i32 29, i32 15, i32 31>
  %225 = shufflevector <16 x float> %206, <16 x float> %208, <16 x i32> <i32 0, i32 16, i32 2, i32 18, i32 4, i32 20, i32 6, i32 22, i32 8, i32 24, i32 10, i32 26, i32 12, i32 28, i32 14, i32 30>
  %226 = shufflevector <16 x float> %206, <16 x float> %208, <16 x i32> <i32 1, i32 17, i32 3, i32 19, i32 5, i32 21, i32 7, i32 23, i32 9, i32 25, i32 11, i32 27, i32 13, i32 29, i32 15, i32 31>
  %227 = shufflevector <16 x float> %210, <16 x float> %212, <16 x i32> <i32 0, i32 16, i32 2, i32 18, i32 4, i32 20, i32 6, i32 22, i32 8, i32 24, i32 10, i32 26, i32 12, i32 28, i32 14, i32 30>
  %228 = shufflevector <16 x float> %210, <16 x float> %212, <16 x i32> <i32 1, i32 17, i32 3, i32 19, i32 5, i32 21, i32 7, i32 23, i32 9, i32 25, i32 11, i32 27, i32 13, i32 29, i32 15, i32 31>
  %229 = shufflevector <16 x float> %214, <16 x float> %216, <16 x i32> <i32 0, i32 16, i32 2, i32 18, i32 4, i32 20, i32 6, i32 22, i32 8, i32 24, i32 10, i32 26, i32 12, i32 28, i32 14, i32 30>
  %230 = shufflevector <16 x float> %214, <16 x float> %216, <16 x i32> <i32 1, i32 17, i32 3, i32 19, i32 5, i32 21, i32 7, i32 23, i32 9, i32 25, i32 11, i32 27, i32 13, i32 29, i32 15, i32 31>
  %231 = shufflevector <16 x float> %217, <16 x float> %219, <16 x i32> <i32 0, i32 1, i32 16, i32 17, i32 4, i32 5, i32 20, i32 21, i32 8, i32 9, i32 24, i32 25, i32 12, i32 13, i32 28, i32 29>
  %232 = shufflevector <16 x float> %217, <16 x float> %219, <16 x i32> <i32 2, i32 3, i32 18, i32 19, i32 6, i32 7, i32 22, i32 23, i32 10, i32 11, i32 26, i32 27, i32 14, i32 15, i32 30, i32 31>
  %233 = shufflevector <16 x float> %218, <16 x float> %220, <16 x i32> <i32 0, i32 1, i32 16, i32 17, i32 4, i32 5, i32 20, i32 21, i32 8, i32 9, i32 24, i32 25, i32 12, i32 13, i32 28, i32 29>
  %234 = shufflevector <16 x float> %218, <16 x float> %220, <16 x i32> <i32 2, i32 3, i32 18, i32 19, i32 6, i32 7, i32 22, i32 23, i32 10, i32 11, i32 26, i32 27, i32 14, i32 15, i32 30, i32 31>
  %235 = shufflevector <16 x float> %221, <16 x float> %223, <16 x i32> <i32 0, i32 1, i32 16, i32 17, i32 4, i32 5, i32 20, i32 21, i32 8, i32 9, i32 24, i32 25, i32 12, i32 13, i32 28, i32 29>
  %236 = shufflevector <16 x float> %221, <16 x float> %223, <16 x i32> <i32 2, i32 3, i32 18, i32 19, i32 6, i32 7, i32 22, i32 23, i32 10, i32 11, i32 26, i32 27, i32 14, i32 15, i32 30, i32 31>
  %237 = shufflevector <16 x float> %222, <16 x float> %224, <16 x i32> <i32 0, i32 1, i32 16, i32 17, i32 4, i32 5, i32 20, i32 21, i32 8, i32 9, i32 24, i32 25, i32 12, i32 13, i32 28, i32 29>
  %238 = shufflevector <16 x float> %222, <16 x float> %224, <16 x i32> <i32 2, i32 3, i32 18, i32 19, i32 6, i32 7, i32 22, i32 23, i32 10, i32 11, i32 26, i32 27, i32 14, i32 15, i32 30, i32 31>
  %239 = shufflevector <16 x float> %225, <16 x float> %227, <16 x i32> <i32 0, i32 1, i32 16, i32 17, i32 4, i32 5, i32 20, i32 21, i32 8, i32 9, i32 24, i32 25, i32 12, i32 13, i32 28, i32 29>
  %240 = shufflevector <16 x float> %225, <16 x float> %227, <16 x i32> <i32 2, i32 3, i32 18, i32 19, i32 6, i32 7, i32 22, i32 23, i32 10, i32 11, i32 26, i32 27, i32 14, i32 15, i32 30, i32 31>
  %241 = shufflevector <16 x float> %226, <16 x float> %228, <16 x i32> <i32 0, i32 1, i32 16, i32 17, i32 4, i32 5, i32 20, i32 21, i32 8, i32 9, i32 24, i32 25, i32 12, i32 13, i32 28, i32 29>
  %242 = shufflevector <16 x float> %226, <16 x float> %228, <16 x i32> <i32 2, i32 3, i32 18, i32 19, i32 6, i32 7, i32 22, i32 23, i32 10, i32 11, i32 26, i32 27, i32 14, i32 15, i32 30, i32 31>
  %243 = shufflevector <16 x float> %229, <16 x float> zeroinitializer, <16 x i32> <i32 0, i32 1, i32 16, i32 17, i32 4, i32 5, i32 20, i32 21, i32 8, i32 9, i32 24, i32 25, i32 12, i32 13, i32 28, i32 29>
  %244 = shufflevector <16 x float> %229, <16 x float> zeroinitializer, <16 x i32> <i32 2, i32 3, i32 18, i32 19, i32 6, i32 7, i32 22, i32 23, i32 10, i32 11, i32 26, i32 27, i32 14, i32 15, i32 30, i32 31>
  %245 = shufflevector <16 x float> %230, <16 x float> zeroinitializer, <16 x i32> <i32 0, i32 1, i32 16, i32 17, i32 4, i32 5, i32 20, i32 21, i32 8, i32 9, i32 24, i32 25, i32 12, i32 13, i32 28, i32 29>
  %246 = shufflevector <16 x float> %230, <16 x float> zeroinitializer, <16 x i32> <i32 2, i32 3, i32 18, i32 19, i32 6, i32 7, i32 22, i32 23, i32 10, i32 11, i32 26, i32 27, i32 14, i32 15, i32 30, i32 31>
  %247 = shufflevector <16 x float> %231, <16 x float> %235, <16 x i32> <i32 0, i32 1, i32 2, i32 3, i32 16, i32 17, i32 18, i32 19, i32 8, i32 9, i32 10, i32 11, i32 24, i32 25, i32 26, i32 27>
  %248 = shufflevector <16 x float> %231, <16 x float> %235, <16 x i32> <i32 4, i32 5, i32 6, i32 7, i32 20, i32 21, i32 22, i32 23, i32 12, i32 13, i32 14, i32 15, i32 28, i32 29, i32 30, i32 31>
  %249 = shufflevector <16 x float> %233, <16 x float> %237, <16 x i32> <i32 0, i32 1, i32 2, i32 3, i32 16, i32 17, i32 18, i32 19, i32 8, i32 9, i32 10, i32 11, i32 24, i32 25, i32 26, i32 27>
  %250 = shufflevector <16 x float> %233, <16 x float> %237, <16 x i32> <i32 4, i32 5, i32 6, i32 7, i32 20, i32 21, i32 22, i32 23, i32 12, i32 13, i32 14, i32 15, i32 28, i32 29, i32 30, i32 31>
  %251 = shufflevector <16 x float> %232, <16 x float> %236, <16 x i32> <i32 0, i32 1, i32 2, i32 3, i32 16, i32 17, i32 18, i32 19, i32 8, i32 9, i32 10, i32 11, i32 24, i32 25, i32 26, i32 27>
  %252 = shufflevector <16 x float> %232, <16 x float> %236, <16 x i32> <i32 4, i32 5, i32 6, i32 7, i32 20, i32 21, i32 22, i32 23, i32 12, i32 13, i32 14, i32 15, i32 28, i32 29, i32 30, i32 31>
  %253 = shufflevector <16 x float> %234, <16 x float> %238, <16 x i32> <i32 0, i32 1, i32 2, i32 3, i32 16, i32 17, i32 18, i32 19, i32 8, i32 9, i32 10, i32 11, i32 24, i32 25, i32 26, i32 27>
  %254 = shufflevector <16 x float> %234, <16 x float> %238, <16 x i32> <i32 4, i32 5, i32 6, i32 7, i32 20, i32 21, i32 22, i32 23, i32 12, i32 13, i32 14, i32 15, i32 28, i32 29, i32 30, i32 31>
  %255 = shufflevector <16 x float> %239, <16 x float> %243, <16 x i32> <i32 0, i32 1, i32 2, i32 3, i32 16, i32 17, i32 18, i32 19, i32 8, i32 9, i32 10, i32 11, i32 24, i32 25, i32 26, i32 27>
  %256 = shufflevector <16 x float> %239, <16 x float> %243, <16 x i32> <i32 4, i32 5, i32 6, i32 7, i32 20, i32 21, i32 22, i32 23, i32 12, i32 13, i32 14, i32 15, i32 28, i32 29, i32 30, i32 31>
  %257 = shufflevector <16 x float> %241, <16 x float> %245, <16 x i32> <i32 0, i32 1, i32 2, i32 3, i32 16, i32 17, i32 18, i32 19, i32 8, i32 9, i32 10, i32 11, i32 24, i32 25, i32 26, i32 27>
  %258 = shufflevector <16 x float> %241, <16 x float> %245, <16 x i32> <i32 4, i32 5, i32 6, i32 7, i32 20, i32 21, i32 22, i32 23, i32 12, i32 13, i32 14, i32 15, i32 28, i32 29, i32 30, i32 31>
  %259 = shufflevector <16 x float> %240, <16 x float> %244, <16 x i32> <i32 0, i32 1, i32 2, i32 3, i32 16, i32 17, i32 18, i32 19, i32 8, i32 9, i32 10, i32 11, i32 24, i32 25, i32 26, i32 27>
  %260 = shufflevector <16 x float> %240, <16 x float> %244, <16 x i32> <i32 4, i32 5, i32 6, i32 7, i32 20, i32 21, i32 22, i32 23, i32 12, i32 13, i32 14, i32 15, i32 28, i32 29, i32 30, i32 31>
  %261 = shufflevector <16 x float> %242, <16 x float> %246, <16 x i32> <i32 0, i32 1, i32 2, i32 3, i32 16, i32 17, i32 18, i32 19, i32 8, i32 9, i32 10, i32 11, i32 24, i32 25, i32 26, i32 27>
  %262 = shufflevector <16 x float> %242, <16 x float> %246, <16 x i32> <i32 4, i32 5, i32 6, i32 7, i32 20, i32 21, i32 22, i32 23, i32 12, i32 13, i32 14, i32 15, i32 28, i32 29, i32 30, i32 31>
  %263 = shufflevector <16 x float> %247, <16 x float> %255, <16 x i32> <i32 0, i32 1, i32 2, i32 3, i32 4, i32 5, i32 6, i32 7, i32 16, i32 17, i32 18, i32 19, i32 20, i32 21, i32 22, i32 23>
  %264 = shufflevector <16 x float> %247, <16 x float> %255, <16 x i32> <i32 8, i32 9, i32 10, i32 11, i32 12, i32 13, i32 14, i32 15, i32 24, i32 25, i32 26, i32 27, i32 28, i32 29, i32 30, i32 31>
  %265 = shufflevector <16 x float> %249, <16 x float> %257, <16 x i32> <i32 0, i32 1, i32 2, i32 3, i32 4, i32 5, i32 6, i32 7, i32 16, i32 17, i32 18, i32 19, i32 20, i32 21, i32 22, i32 23>
  %266 = shufflevector <16 x float> %249, <16 x float> %257, <16 x i32> <i32 8, i32 9, i32 10, i32 11, i32 12, i32 13, i32 14, i32 15, i32 24, i32 25, i32 26, i32 27, i32 28, i32 29, i32 30, i32 31>
  %267 = shufflevector <16 x float> %251, <16 x float> %259, <16 x i32> <i32 0, i32 1, i32 2, i32 3, i32 4, i32 5, i32 6, i32 7, i32 16, i32 17, i32 18, i32 19, i32 20, i32 21, i32 22, i32 23>
  %268 = shufflevector <16 x float> %251, <16 x float> %259, <16 x i32> <i32 8, i32 9, i32 10, i32 11, i32 12, i32 13, i32 14, i32 15, i32 24, i32 25, i32 26, i32 27, i32 28, i32 29, i32 30, i32 31>
  %269 = shufflevector <16 x float> %253, <16 x float> %261, <16 x i32> <i32 0, i32 1, i32 2, i32 3, i32 4, i32 5, i32 6, i32 7, i32 16, i32 17, i32 18, i32 19, i32 20, i32 21, i32 22, i32 23>
  %270 = shufflevector <16 x float> %253, <16 x float> %261, <16 x i32> <i32 8, i32 9, i32 10, i32 11, i32 12, i32 13, i32 14, i32 15, i32 24, i32 25, i32 26, i32 27, i32 28, i32 29, i32 30, i32 31>
  %271 = shufflevector <16 x float> %248, <16 x float> %256, <16 x i32> <i32 0, i32 1, i32 2, i32 3, i32 4, i32 5, i32 6, i32 7, i32 16, i32 17, i32 18, i32 19, i32 20, i32 21, i32 22, i32 23>
  %272 = shufflevector <16 x float> %248, <16 x float> %256, <16 x i32> <i32 8, i32 9, i32 10, i32 11, i32 12, i32 13, i32 14, i32 15, i32 24, i32 25, i32 26, i32 27, i32 28, i32 29, i32 30, i32 31>
  %273 = shufflevector <16 x float> %250, <16 x float> %258, <16 x i32> <i32 0, i32 1, i32 2, i32 3, i32 4, i32 5, i32 6, i32 7, i32 16, i32 17, i32 18, i32 19, i32 20, i32 21, i32 22, i32 23>
  %274 = shufflevector <16 x float> %250, <16 x float> %258, <16 x i32> <i32 8, i32 9, i32 10, i32 11, i32 12, i32 13, i32 14, i32 15, i32 24, i32 25, i32 26, i32 27, i32 28, i32 29, i32 30, i32 31>
  %275 = shufflevector <16 x float> %252, <16 x float> %260, <16 x i32> <i32 0, i32 1, i32 2, i32 3, i32 4, i32 5, i32 6, i32 7, i32 16, i32 17, i32 18, i32 19, i32 20, i32 21, i32 22, i32 23>
  %276 = shufflevector <16 x float> %252, <16 x float> %260, <16 x i32> <i32 8, i32 9, i32 10, i32 11, i32 12, i32 13, i32 14, i32 15, i32 24, i32 25, i32 26, i32 27, i32 28, i32 29, i32 30, i32 31>
  %277 = shufflevector <16 x float> %254, <16 x float> %262, <16 x i32> <i32 0, i32 1, i32 2, i32 3, i32 4, i32 5, i32 6, i32 7, i32 16, i32 17, i32 18, i32 19, i32 20, i32 21, i32 22, i32 23>
  %278 = shufflevector <16 x float> %254, <16 x float> %262, <16 x i32> <i32 8, i32 9, i32 10, i32 11, i32 12, i32 13, i32 14, i32 15, i32 24, i32 25, i32 26, i32 27, i32 28, i32 29, i32 30, i32 31>
  %279 = add i64 %188, 0
  %280 = mul i64 %279, 14
  %281 = add i64 %280, 0
  %282 = getelementptr float, ptr %73, i64 %281
  call void @llvm.masked.store.v16f32.p0(<16 x float> %263, ptr %282, i32 4, <16 x i1> <i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 false, i1 false>)
  %283 = add i64 %188, 1
  %284 = mul i64 %283, 14
  %285 = add i64 %284, 0
  %286 = getelementptr float, ptr %73, i64 %285
  call void @llvm.masked.store.v16f32.p0(<16 x float> %265, ptr %286, i32 4, <16 x i1> <i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 false, i1 false>)
  %287 = add i64 %188, 2
  %288 = mul i64 %287, 14
  %289 = add i64 %288, 0
  %290 = getelementptr float, ptr %73, i64 %289
  call void @llvm.masked.store.v16f32.p0(<16 x float> %267, ptr %290, i32 4, <16 x i1> <i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 false, i1 false>)
  %291 = add i64 %188, 3
  %292 = mul i64 %291, 14
  %293 = add i64 %292, 0
  %294 = getelementptr float, ptr %73, i64 %293
  call void @llvm.masked.store.v16f32.p0(<16 x float> %269, ptr %294, i32 4, <16 x i1> <i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 false, i1 false>)
  %295 = add i64 %188, 4
  %296 = mul i64 %295, 14
  %297 = add i64 %296, 0
  %298 = getelementptr float, ptr %73, i64 %297
  call void @llvm.masked.store.v16f32.p0(<16 x float> %271, ptr %298, i32 4, <16 x i1> <i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 false, i1 false>)
  %299 = add i64 %188, 5
  %300 = mul i64 %299, 14
  %301 = add i64 %300, 0
  %302 = getelementptr float, ptr %73, i64 %301
  call void @llvm.masked.store.v16f32.p0(<16 x float> %273, ptr %302, i32 4, <16 x i1> <i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 false, i1 false>)
  %303 = add i64 %188, 6
  %304 = mul i64 %303, 14
  %305 = add i64 %304, 0
  %306 = getelementptr float, ptr %73, i64 %305
  call void @llvm.masked.store.v16f32.p0(<16 x float> %275, ptr %306, i32 4, <16 x i1> <i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 false, i1 false>)
  %307 = add i64 %188, 7
  %308 = mul i64 %307, 14
  %309 = add i64 %308, 0
  %310 = getelementptr float, ptr %73, i64 %309
  call void @llvm.masked.store.v16f32.p0(<16 x float> %277, ptr %310, i32 4, <16 x i1> <i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 false, i1 false>)
  %311 = add i64 %188, 8
  %312 = mul i64 %311, 14
  %313 = add i64 %312, 0
  %314 = getelementptr float, ptr %73, i64 %313
  call void @llvm.masked.store.v16f32.p0(<16 x float> %264, ptr %314, i32 4, <16 x i1> <i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 false, i1 false>)
  %315 = add i64 %188, 9
  %316 = mul i64 %315, 14
  %317 = add i64 %316, 0
  %318 = getelementptr float, ptr %73, i64 %317
  call void @llvm.masked.store.v16f32.p0(<16 x float> %266, ptr %318, i32 4, <16 x i1> <i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 false, i1 false>)
  %319 = add i64 %188, 10
  %320 = mul i64 %319, 14
  %321 = add i64 %320, 0
  %322 = getelementptr float, ptr %73, i64 %321
  call void @llvm.masked.store.v16f32.p0(<16 x float> %268, ptr %322, i32 4, <16 x i1> <i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 false, i1 false>)
  %323 = add i64 %188, 11
  %324 = mul i64 %323, 14
  %325 = add i64 %324, 0
  %326 = getelementptr float, ptr %73, i64 %325
  call void @llvm.masked.store.v16f32.p0(<16 x float> %270, ptr %326, i32 4, <16 x i1> <i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 false, i1 false>)
  %327 = add i64 %188, 12
  %328 = mul i64 %327, 14
  %329 = add i64 %328, 0
  %330 = getelementptr float, ptr %73, i64 %329
  call void @llvm.masked.store.v16f32.p0(<16 x float> %272, ptr %330, i32 4, <16 x i1> <i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 false, i1 false>)
  %331 = add i64 %188, 13
  %332 = mul i64 %331, 14
  %333 = add i64 %332, 0
  %334 = getelementptr float, ptr %73, i64 %333
  call void @llvm.masked.store.v16f32.p0(<16 x float> %274, ptr %334, i32 4, <16 x i1> <i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 false, i1 false>)
  %335 = add i64 %188, 14
  %336 = mul i64 %335, 14
  %337 = add i64 %336, 0
  %338 = getelementptr float, ptr %73, i64 %337
  call void @llvm.masked.store.v16f32.p0(<16 x float> %276, ptr %338, i32 4, <16 x i1> <i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 false, i1 false>)
  %339 = add i64 %188, 15
  %340 = mul i64 %339, 14
  %341 = add i64 %340, 0
  %342 = getelementptr float, ptr %73, i64 %341
  call void @llvm.masked.store.v16f32.p0(<16 x float> %278, ptr %342, i32 4, <16 x i1> <i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 true, i1 false, i1 false>)
  %343 = add i64 %packt.k18, 1
  br label %packt.k

done17:                                           ; preds = %packt.k
  %344 = add i64 %packt.panel15, 1
  br label %packt.panel

pack.panel19:                                     ; preds = %done24, %done14
  %pack.panel22 = phi i64 [ 0, %done14 ], [ %347, %done24 ]
  %345 = icmp slt i64 %pack.panel22, %63
  br i1 %345, label %body20, label %done21

body20:                                           ; preds = %pack.panel19
  br label %pack.outer

done21:                                           ; preds = %pack.panel19
  br label %panel.m

pack.outer:                                       ; preds = %done27, %body20
  %pack.outer25 = phi i64 [ 0, %body20 ], [ %368, %done27 ]
  %346 = icmp slt i64 %pack.outer25, 14
  br i1 %346, label %body23, label %done24

body23:                                           ; preds = %pack.outer
  br label %pack.inner

done24:                                           ; preds = %pack.outer
  %347 = add i64 %pack.panel22, 1
  br label %pack.panel19

pack.inner:                                       ; preds = %body26, %body23
  %pack.inner28 = phi i64 [ %kmain, %body23 ], [ %367, %body26 ]
  %348 = icmp slt i64 %pack.inner28, %25
  br i1 %348, label %body26, label %done27

body26:                                           ; preds = %pack.inner
  %349 = mul i64 %pack.panel22, 14
  %350 = add i64 %349, %pack.outer25
  %351 = add i64 %64, %350
  %352 = icmp slt i64 %351, 4
  %353 = select i1 %352, i64 %351, i64 3
  %354 = add i64 %pc, %pack.inner28
  %355 = mul i64 %354, 1
  %356 = mul i64 %353, 8
  %357 = add i64 %356, %355
  %358 = getelementptr float, ptr %17, i64 %357
  %359 = load float, ptr %358, align 4
  %360 = select i1 %352, float %359, float 0.000000e+00
  %361 = mul i64 %pack.inner28, 14
  %362 = add i64 %361, %pack.outer25
  %363 = mul i64 %25, 14
  %364 = mul i64 %pack.panel22, %363
  %365 = add i64 %364, %362
  %366 = getelementptr float, ptr %Ap, i64 %365
  store float %360, ptr %366, align 4
  %367 = add i64 %pack.inner28, 1
  br label %pack.inner

done27:                                           ; preds = %pack.inner
  %368 = add i64 %pack.outer25, 1
  br label %pack.outer

panel.m:                                          ; preds = %done33, %done21
  %panel.m31 = phi i64 [ 0, %done21 ], [ %396, %done33 ]
  %369 = icmp slt i64 %panel.m31, %63
  br i1 %369, label %body29, label %done30

body29:                                           ; preds = %panel.m
  br label %panel.n

done30:                                           ; preds = %panel.m
  %370 = add i64 %ablock12, 1
  br label %ablock

panel.n:                                          ; preds = %tile.done, %body29
  %panel.n34 = phi i64 [ 0, %body29 ], [ %397, %tile.done ]
  %371 = icmp slt i64 %panel.n34, %22
  br i1 %371, label %body32, label %done33

body32:                                           ; preds = %panel.n
  %372 = mul i64 %panel.m31, 14
  %373 = sub i64 %61, %372
  %374 = icmp slt i64 14, %373
  %375 = select i1 %374, i64 14, i64 %373
  %376 = mul i64 %panel.n34, 32
  %377 = sub i64 %14, %376
  %378 = icmp slt i64 32, %377
  %379 = select i1 %378, i64 32, i64 %377
  %380 = icmp eq i64 %379, 32
  %381 = icmp eq i64 %375, 14
  %full = and i1 %381, %380
  %382 = mul i64 %25, 14
  %383 = mul i64 %panel.m31, %382
  %384 = getelementptr float, ptr %Ap, i64 %383
  %385 = mul i64 %25, 32
  %386 = mul i64 %panel.n34, %385
  %387 = getelementptr float, ptr %Bp, i64 %386
  %388 = mul i64 %panel.m31, 14
  %389 = add i64 %m0, %ia
  %390 = add i64 %389, %388
  %391 = mul i64 %panel.n34, 32
  %392 = add i64 %n0, %391
  %393 = mul i64 %390, 16
  %394 = add i64 %393, %392
  %395 = getelementptr float, ptr %20, i64 %394
  br i1 %full, label %tile.full, label %tile.edge

done33:                                           ; preds = %panel.n
  %396 = add i64 %panel.m31, 1
  br label %panel.m

tile.full:                                        ; preds = %body32
  call void @llmc_mmk.micro(ptr %384, ptr %387, i64 %25, ptr %395, i64 16, i1 %first)
  br label %tile.done

tile.edge:                                        ; preds = %body32
  br i1 %first, label %tile.edge.call, label %tile.copyin

tile.copyin:                                      ; preds = %tile.edge
  br label %copy.i

tile.edge.call:                                   ; preds = %done36, %tile.edge
  call void @llmc_mmk.micro(ptr %384, ptr %387, i64 %25, ptr %tile, i64 32, i1 %first)
  br label %copy.i41

tile.done:                                        ; preds = %done43, %tile.full
  %397 = add i64 %panel.n34, 1
  br label %panel.n

copy.i:                                           ; preds = %done39, %tile.copyin
  %copy.i37 = phi i64 [ 0, %tile.copyin ], [ %408, %done39 ]
  %398 = icmp slt i64 %copy.i37, %375
  br i1 %398, label %body35, label %done36

body35:                                           ; preds = %copy.i
  br label %copy.j

done36:                                           ; preds = %copy.i
  br label %tile.edge.call

copy.j:                                           ; preds = %body38, %body35
  %copy.j40 = phi i64 [ 0, %body35 ], [ %407, %body38 ]
  %399 = icmp slt i64 %copy.j40, %379
  br i1 %399, label %body38, label %done39

body38:                                           ; preds = %copy.j
  %400 = mul i64 %copy.i37, 16
  %401 = add i64 %400, %copy.j40
  %402 = getelementptr float, ptr %395, i64 %401
  %403 = load float, ptr %402, align 4
  %404 = mul i64 %copy.i37, 32
  %405 = add i64 %404, %copy.j40
  %406 = getelementptr float, ptr %tile, i64 %405
  store float %403, ptr %406, align 4
  %407 = add i64 %copy.j40, 1
  br label %copy.j

done39:                                           ; preds = %copy.j
  %408 = add i64 %copy.i37, 1
  br label %copy.i

copy.i41:                                         ; preds = %done47, %tile.edge.call
  %copy.i44 = phi i64 [ 0, %tile.edge.call ], [ %419, %done47 ]
  %409 = icmp slt i64 %copy.i44, %375
  br i1 %409, label %body42, label %done43

body42:                                           ; preds = %copy.i41
  br label %copy.j45

done43:                                           ; preds = %copy.i41
  br label %tile.done

copy.j45:                                         ; preds = %body46, %body42
  %copy.j48 = phi i64 [ 0, %body42 ], [ %418, %body46 ]
  %410 = icmp slt i64 %copy.j48, %379
  br i1 %410, label %body46, label %done47

body46:                                           ; preds = %copy.j45
  %411 = mul i64 %copy.i44, 32
  %412 = add i64 %411, %copy.j48
  %413 = getelementptr float, ptr %tile, i64 %412
  %414 = load float, ptr %413, align 4
  %415 = mul i64 %copy.i44, 16
  %416 = add i64 %415, %copy.j48
  %417 = getelementptr float, ptr %395, i64 %416
  store float %414, ptr %417, align 4
  %418 = add i64 %copy.j48, 1
  br label %copy.j45

done47:                                           ; preds = %copy.j45
  %419 = add i64 %copy.i44, 1
  br label %copy.i41

epi.row:                                          ; preds = %done56, %kblock.done
  %epi.row51 = phi i64 [ 0, %kblock.done ], [ %542, %done56 ]
  %420 = icmp slt i64 %epi.row51, %11
  br i1 %420, label %body49, label %done50

body49:                                           ; preds = %epi.row
  %421 = add i64 %m0, %epi.row51
  %422 = mul i64 %421, 16
  %423 = mul i64 %b, 64
  %424 = add i64 %423, %422
  %epi.rowbase = add i64 %424, %n0
  %425 = sdiv i64 %14, 16
  br label %epi.vec

done50:                                           ; preds = %epi.row
  %426 = add i64 %task3, 1
  br label %task

epi.vec:                                          ; preds = %body52, %body49
  %epi.vec54 = phi i64 [ 0, %body49 ], [ %529, %body52 ]
  %427 = icmp slt i64 %epi.vec54, %425
  br i1 %427, label %body52, label %done53

body52:                                           ; preds = %epi.vec
  %428 = mul i64 %epi.vec54, 16
  %429 = add i64 %epi.rowbase, %428
  %430 = getelementptr float, ptr %C, i64 %429
  %431 = load <16 x float>, ptr %430, align 4
  %432 = urem i64 %429, 16
  %433 = add i64 0, %432
  %434 = getelementptr float, ptr %in2, i64 %433
  %435 = load float, ptr %434, align 4
  %436 = insertelement <16 x float> poison, float %435, i32 0
  %437 = add i64 %429, 1
  %438 = urem i64 %437, 16
  %439 = add i64 0, %438
  %440 = getelementptr float, ptr %in2, i64 %439
  %441 = load float, ptr %440, align 4
  %442 = insertelement <16 x float> %436, float %441, i32 1
  %443 = add i64 %429, 2
  %444 = urem i64 %443, 16
  %445 = add i64 0, %444
  %446 = getelementptr float, ptr %in2, i64 %445
  %447 = load float, ptr %446, align 4
  %448 = insertelement <16 x float> %442, float %447, i32 2
  %449 = add i64 %429, 3
  %450 = urem i64 %449, 16
  %451 = add i64 0, %450
  %452 = getelementptr float, ptr %in2, i64 %451
  %453 = load float, ptr %452, align 4
  %454 = insertelement <16 x float> %448, float %453, i32 3
  %455 = add i64 %429, 4
  %456 = urem i64 %455, 16
  %457 = add i64 0, %456
  %458 = getelementptr float, ptr %in2, i64 %457
  %459 = load float, ptr %458, align 4
  %460 = insertelement <16 x float> %454, float %459, i32 4
  %461 = add i64 %429, 5
  %462 = urem i64 %461, 16
  %463 = add i64 0, %462
  %464 = getelementptr float, ptr %in2, i64 %463
  %465 = load float, ptr %464, align 4
  %466 = insertelement <16 x float> %460, float %465, i32 5
  %467 = add i64 %429, 6
  %468 = urem i64 %467, 16
  %469 = add i64 0, %468
  %470 = getelementptr float, ptr %in2, i64 %469
  %471 = load float, ptr %470, align 4
  %472 = insertelement <16 x float> %466, float %471, i32 6
  %473 = add i64 %429, 7
  %474 = urem i64 %473, 16
  %475 = add i64 0, %474
  %476 = getelementptr float, ptr %in2, i64 %475
  %477 = load float, ptr %476, align 4
  %478 = insertelement <16 x float> %472, float %477, i32 7
  %479 = add i64 %429, 8
  %480 = urem i64 %479, 16
  %481 = add i64 0, %480
  %482 = getelementptr float, ptr %in2, i64 %481
  %483 = load float, ptr %482, align 4
  %484 = insertelement <16 x float> %478, float %483, i32 8
  %485 = add i64 %429, 9
  %486 = urem i64 %485, 16
  %487 = add i64 0, %486
  %488 = getelementptr float, ptr %in2, i64 %487
  %489 = load float, ptr %488, align 4
  %490 = insertelement <16 x float> %484, float %489, i32 9
  %491 = add i64 %429, 10
  %492 = urem i64 %491, 16
  %493 = add i64 0, %492
  %494 = getelementptr float, ptr %in2, i64 %493
  %495 = load float, ptr %494, align 4
  %496 = insertelement <16 x float> %490, float %495, i32 10
  %497 = add i64 %429, 11
  %498 = urem i64 %497, 16
  %499 = add i64 0, %498
  %500 = getelementptr float, ptr %in2, i64 %499
  %501 = load float, ptr %500, align 4
  %502 = insertelement <16 x float> %496, float %501, i32 11
  %503 = add i64 %429, 12
  %504 = urem i64 %503, 16
  %505 = add i64 0, %504
  %506 = getelementptr float, ptr %in2, i64 %505
  %507 = load float, ptr %506, align 4
  %508 = insertelement <16 x float> %502, float %507, i32 12
  %509 = add i64 %429, 13
  %510 = urem i64 %509, 16
  %511 = add i64 0, %510
  %512 = getelementptr float, ptr %in2, i64 %511
  %513 = load float, ptr %512, align 4
  %514 = insertelement <16 x float> %508, float %513, i32 13
  %515 = add i64 %429, 14
  %516 = urem i64 %515, 16
  %517 = add i64 0, %516
  %518 = getelementptr float, ptr %in2, i64 %517
  %519 = load float, ptr %518, align 4
  %520 = insertelement <16 x float> %514, float %519, i32 14
  %521 = add i64 %429, 15
  %522 = urem i64 %521, 16
  %523 = add i64 0, %522
  %524 = getelementptr float, ptr %in2, i64 %523
  %525 = load float, ptr %524, align 4
  %526 = insertelement <16 x float> %520, float %525, i32 15
  %527 = fadd <16 x float> %431, %526
  %528 = getelementptr float, ptr %out, i64 %429
  store <16 x float> %527, ptr %528, align 4
  %529 = add i64 %epi.vec54, 1
  br label %epi.vec

done53:                                           ; preds = %epi.vec
  %530 = mul i64 %425, 16
  br label %epi.tail

epi.tail:                                         ; preds = %body55, %done53
  %epi.tail57 = phi i64 [ %530, %done53 ], [ %541, %body55 ]
  %531 = icmp slt i64 %epi.tail57, %14
  br i1 %531, label %body55, label %done56

body55:                                           ; preds = %epi.tail
  %532 = add i64 %epi.rowbase, %epi.tail57
  %533 = getelementptr float, ptr %C, i64 %532
  %534 = load float, ptr %533, align 4
  %535 = urem i64 %532, 16
  %536 = add i64 0, %535
  %537 = getelementptr float, ptr %in2, i64 %536
  %538 = load float, ptr %537, align 4
  %539 = fadd float %534, %538
  %540 = getelementptr float, ptr %out, i64 %532
  store float %539, ptr %540, align 4
  %541 = add i64 %epi.tail57, 1
  br label %epi.tail

done56:                                           ; preds = %epi.tail
  %542 = add i64 %epi.row51, 1
  br label %epi.row
}

; Function Attrs: nounwind
define internal void @llmc_mmk.micro(ptr %ap, ptr %bp, i64 %kc, ptr %c, i64 %ldc, i1 %first) #0 {
entry:
  br i1 %first, label %k.head, label %load.c

load.c:                                           ; preds = %entry
  %0 = mul i64 0, %ldc
  %1 = add i64 %0, 0
  %2 = getelementptr float, ptr %c, i64 %1
  %3 = load <16 x float>, ptr %2, align 4
  %4 = add i64 %0, 16
  %5 = getelementptr float, ptr %c, i64 %4
  %6 = load <16 x float>, ptr %5, align 4
  %7 = mul i64 1, %ldc
  %8 = add i64 %7, 0
  %9 = getelementptr float, ptr %c, i64 %8
  %10 = load <16 x float>, ptr %9, align 4
  %11 = add i64 %7, 16
  %12 = getelementptr float, ptr %c, i64 %11
  %13 = load <16 x float>, ptr %12, align 4
  %14 = mul i64 2, %ldc
  %15 = add i64 %14, 0
  %16 = getelementptr float, ptr %c, i64 %15
  %17 = load <16 x float>, ptr %16, align 4
  %18 = add i64 %14, 16
  %19 = getelementptr float, ptr %c, i64 %18
  %20 = load <16 x float>, ptr %19, align 4
  %21 = mul i64 3, %ldc
  %22 = add i64 %21, 0
  %23 = getelementptr float, ptr %c, i64 %22
  %24 = load <16 x float>, ptr %23, align 4
  %25 = add i64 %21, 16
  %26 = getelementptr float, ptr %c, i64 %25
  %27 = load <16 x float>, ptr %26, align 4
  %28 = mul i64 4, %ldc
  %29 = add i64 %28, 0
  %30 = getelementptr float, ptr %c, i64 %29
  %31 = load <16 x float>, ptr %30, align 4
  %32 = add i64 %28, 16
  %33 = getelementptr float, ptr %c, i64 %32
  %34 = load <16 x float>, ptr %33, align 4
  %35 = mul i64 5, %ldc
  %36 = add i64 %35, 0
  %37 = getelementptr float, ptr %c, i64 %36
  %38 = load <16 x float>, ptr %37, align 4
  %39 = add i64 %35, 16
  %40 = getelementptr float, ptr %c, i64 %39
  %41 = load <16 x float>, ptr %40, align 4
  %42 = mul i64 6, %ldc
  %43 = add i64 %42, 0
  %44 = getelementptr float, ptr %c, i64 %43
  %45 = load <16 x float>, ptr %44, align 4
  %46 = add i64 %42, 16
  %47 = getelementptr float, ptr %c, i64 %46
  %48 = load <16 x float>, ptr %47, align 4
  %49 = mul i64 7, %ldc
  %50 = add i64 %49, 0
  %51 = getelementptr float, ptr %c, i64 %50
  %52 = load <16 x float>, ptr %51, align 4
  %53 = add i64 %49, 16
  %54 = getelementptr float, ptr %c, i64 %53
  %55 = load <16 x float>, ptr %54, align 4
  %56 = mul i64 8, %ldc
  %57 = add i64 %56, 0
  %58 = getelementptr float, ptr %c, i64 %57
  %59 = load <16 x float>, ptr %58, align 4
  %60 = add i64 %56, 16
  %61 = getelementptr float, ptr %c, i64 %60
  %62 = load <16 x float>, ptr %61, align 4
  %63 = mul i64 9, %ldc
  %64 = add i64 %63, 0
  %65 = getelementptr float, ptr %c, i64 %64
  %66 = load <16 x float>, ptr %65, align 4
  %67 = add i64 %63, 16
  %68 = getelementptr float, ptr %c, i64 %67
  %69 = load <16 x float>, ptr %68, align 4
  %70 = mul i64 10, %ldc
  %71 = add i64 %70, 0
  %72 = getelementptr float, ptr %c, i64 %71
  %73 = load <16 x float>, ptr %72, align 4
  %74 = add i64 %70, 16
  %75 = getelementptr float, ptr %c, i64 %74
  %76 = load <16 x float>, ptr %75, align 4
  %77 = mul i64 11, %ldc
  %78 = add i64 %77, 0
  %79 = getelementptr float, ptr %c, i64 %78
  %80 = load <16 x float>, ptr %79, align 4
  %81 = add i64 %77, 16
  %82 = getelementptr float, ptr %c, i64 %81
  %83 = load <16 x float>, ptr %82, align 4
  %84 = mul i64 12, %ldc
  %85 = add i64 %84, 0
  %86 = getelementptr float, ptr %c, i64 %85
  %87 = load <16 x float>, ptr %86, align 4
  %88 = add i64 %84, 16
  %89 = getelementptr float, ptr %c, i64 %88
  %90 = load <16 x float>, ptr %89, align 4
  %91 = mul i64 13, %ldc
  %92 = add i64 %91, 0
  %93 = getelementptr float, ptr %c, i64 %92
  %94 = load <16 x float>, ptr %93, align 4
  %95 = add i64 %91, 16
  %96 = getelementptr float, ptr %c, i64 %95
  %97 = load <16 x float>, ptr %96, align 4
  br label %k.head

k.head:                                           ; preds = %k.body, %load.c, %entry
  %k = phi i64 [ 0, %entry ], [ 0, %load.c ], [ %189, %k.body ]
  %acc = phi <16 x float> [ zeroinitializer, %entry ], [ %3, %load.c ], [ %109, %k.body ]
  %acc1 = phi <16 x float> [ zeroinitializer, %entry ], [ %6, %load.c ], [ %110, %k.body ]
  %acc2 = phi <16 x float> [ zeroinitializer, %entry ], [ %10, %load.c ], [ %115, %k.body ]
  %acc3 = phi <16 x float> [ zeroinitializer, %entry ], [ %13, %load.c ], [ %116, %k.body ]
  %acc4 = phi <16 x float> [ zeroinitializer, %entry ], [ %17, %load.c ], [ %121, %k.body ]
  %acc5 = phi <16 x float> [ zeroinitializer, %entry ], [ %20, %load.c ], [ %122, %k.body ]
  %acc6 = phi <16 x float> [ zeroinitializer, %entry ], [ %24, %load.c ], [ %127, %k.body ]
  %acc7 = phi <16 x float> [ zeroinitializer, %entry ], [ %27, %load.c ], [ %128, %k.body ]
  %acc8 = phi <16 x float> [ zeroinitializer, %entry ], [ %31, %load.c ], [ %133, %k.body ]
  %acc9 = phi <16 x float> [ zeroinitializer, %entry ], [ %34, %load.c ], [ %134, %k.body ]
  %acc10 = phi <16 x float> [ zeroinitializer, %entry ], [ %38, %load.c ], [ %139, %k.body ]
  %acc11 = phi <16 x float> [ zeroinitializer, %entry ], [ %41, %load.c ], [ %140, %k.body ]
  %acc12 = phi <16 x float> [ zeroinitializer, %entry ], [ %45, %load.c ], [ %145, %k.body ]
  %acc13 = phi <16 x float> [ zeroinitializer, %entry ], [ %48, %load.c ], [ %146, %k.body ]
  %acc14 = phi <16 x float> [ zeroinitializer, %entry ], [ %52, %load.c ], [ %151, %k.body ]
  %acc15 = phi <16 x float> [ zeroinitializer, %entry ], [ %55, %load.c ], [ %152, %k.body ]
  %acc16 = phi <16 x float> [ zeroinitializer, %entry ], [ %59, %load.c ], [ %157, %k.body ]
  %acc17 = phi <16 x float> [ zeroinitializer, %entry ], [ %62, %load.c ], [ %158, %k.body ]
  %acc18 = phi <16 x float> [ zeroinitializer, %entry ], [ %66, %load.c ], [ %163, %k.body ]
  %acc19 = phi <16 x float> [ zeroinitializer, %entry ], [ %69, %load.c ], [ %164, %k.body ]
  %acc20 = phi <16 x float> [ zeroinitializer, %entry ], [ %73, %load.c ], [ %169, %k.body ]
  %acc21 = phi <16 x float> [ zeroinitializer, %entry ], [ %76, %load.c ], [ %170, %k.body ]
  %acc22 = phi <16 x float> [ zeroinitializer, %entry ], [ %80, %load.c ], [ %175, %k.body ]
  %acc23 = phi <16 x float> [ zeroinitializer, %entry ], [ %83, %load.c ], [ %176, %k.body ]
  %acc24 = phi <16 x float> [ zeroinitializer, %entry ], [ %87, %load.c ], [ %181, %k.body ]
  %acc25 = phi <16 x float> [ zeroinitializer, %entry ], [ %90, %load.c ], [ %182, %k.body ]
  %acc26 = phi <16 x float> [ zeroinitializer, %entry ], [ %94, %load.c ], [ %187, %k.body ]
  %acc27 = phi <16 x float> [ zeroinitializer, %entry ], [ %97, %load.c ], [ %188, %k.body ]
  %98 = icmp slt i64 %k, %kc
  br i1 %98, label %k.body, label %store.c

k.body:                                           ; preds = %k.head
  %99 = mul i64 %k, 32
  %100 = mul i64 %k, 14
  %101 = add i64 %99, 0
  %102 = getelementptr float, ptr %bp, i64 %101
  %b = load <16 x float>, ptr %102, align 64
  %103 = add i64 %99, 16
  %104 = getelementptr float, ptr %bp, i64 %103
  %b28 = load <16 x float>, ptr %104, align 64
  %105 = add i64 %100, 0
  %106 = getelementptr float, ptr %ap, i64 %105
  %107 = load float, ptr %106, align 4
  %108 = insertelement <16 x float> poison, float %107, i32 0
  %a = shufflevector <16 x float> %108, <16 x float> poison, <16 x i32> zeroinitializer
  %109 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a, <16 x float> %b, <16 x float> %acc)
  %110 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a, <16 x float> %b28, <16 x float> %acc1)
  %111 = add i64 %100, 1
  %112 = getelementptr float, ptr %ap, i64 %111
  %113 = load float, ptr %112, align 4
  %114 = insertelement <16 x float> poison, float %113, i32 0
  %a29 = shufflevector <16 x float> %114, <16 x float> poison, <16 x i32> zeroinitializer
  %115 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a29, <16 x float> %b, <16 x float> %acc2)
  %116 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a29, <16 x float> %b28, <16 x float> %acc3)
  %117 = add i64 %100, 2
  %118 = getelementptr float, ptr %ap, i64 %117
  %119 = load float, ptr %118, align 4
  %120 = insertelement <16 x float> poison, float %119, i32 0
  %a30 = shufflevector <16 x float> %120, <16 x float> poison, <16 x i32> zeroinitializer
  %121 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a30, <16 x float> %b, <16 x float> %acc4)
  %122 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a30, <16 x float> %b28, <16 x float> %acc5)
  %123 = add i64 %100, 3
  %124 = getelementptr float, ptr %ap, i64 %123
  %125 = load float, ptr %124, align 4
  %126 = insertelement <16 x float> poison, float %125, i32 0
  %a31 = shufflevector <16 x float> %126, <16 x float> poison, <16 x i32> zeroinitializer
  %127 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a31, <16 x float> %b, <16 x float> %acc6)
  %128 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a31, <16 x float> %b28, <16 x float> %acc7)
  %129 = add i64 %100, 4
  %130 = getelementptr float, ptr %ap, i64 %129
  %131 = load float, ptr %130, align 4
  %132 = insertelement <16 x float> poison, float %131, i32 0
  %a32 = shufflevector <16 x float> %132, <16 x float> poison, <16 x i32> zeroinitializer
  %133 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a32, <16 x float> %b, <16 x float> %acc8)
  %134 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a32, <16 x float> %b28, <16 x float> %acc9)
  %135 = add i64 %100, 5
  %136 = getelementptr float, ptr %ap, i64 %135
  %137 = load float, ptr %136, align 4
  %138 = insertelement <16 x float> poison, float %137, i32 0
  %a33 = shufflevector <16 x float> %138, <16 x float> poison, <16 x i32> zeroinitializer
  %139 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a33, <16 x float> %b, <16 x float> %acc10)
  %140 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a33, <16 x float> %b28, <16 x float> %acc11)
  %141 = add i64 %100, 6
  %142 = getelementptr float, ptr %ap, i64 %141
  %143 = load float, ptr %142, align 4
  %144 = insertelement <16 x float> poison, float %143, i32 0
  %a34 = shufflevector <16 x float> %144, <16 x float> poison, <16 x i32> zeroinitializer
  %145 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a34, <16 x float> %b, <16 x float> %acc12)
  %146 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a34, <16 x float> %b28, <16 x float> %acc13)
  %147 = add i64 %100, 7
  %148 = getelementptr float, ptr %ap, i64 %147
  %149 = load float, ptr %148, align 4
  %150 = insertelement <16 x float> poison, float %149, i32 0
  %a35 = shufflevector <16 x float> %150, <16 x float> poison, <16 x i32> zeroinitializer
  %151 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a35, <16 x float> %b, <16 x float> %acc14)
  %152 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a35, <16 x float> %b28, <16 x float> %acc15)
  %153 = add i64 %100, 8
  %154 = getelementptr float, ptr %ap, i64 %153
  %155 = load float, ptr %154, align 4
  %156 = insertelement <16 x float> poison, float %155, i32 0
  %a36 = shufflevector <16 x float> %156, <16 x float> poison, <16 x i32> zeroinitializer
  %157 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a36, <16 x float> %b, <16 x float> %acc16)
  %158 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a36, <16 x float> %b28, <16 x float> %acc17)
  %159 = add i64 %100, 9
  %160 = getelementptr float, ptr %ap, i64 %159
  %161 = load float, ptr %160, align 4
  %162 = insertelement <16 x float> poison, float %161, i32 0
  %a37 = shufflevector <16 x float> %162, <16 x float> poison, <16 x i32> zeroinitializer
  %163 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a37, <16 x float> %b, <16 x float> %acc18)
  %164 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a37, <16 x float> %b28, <16 x float> %acc19)
  %165 = add i64 %100, 10
  %166 = getelementptr float, ptr %ap, i64 %165
  %167 = load float, ptr %166, align 4
  %168 = insertelement <16 x float> poison, float %167, i32 0
  %a38 = shufflevector <16 x float> %168, <16 x float> poison, <16 x i32> zeroinitializer
  %169 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a38, <16 x float> %b, <16 x float> %acc20)
  %170 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a38, <16 x float> %b28, <16 x float> %acc21)
  %171 = add i64 %100, 11
  %172 = getelementptr float, ptr %ap, i64 %171
  %173 = load float, ptr %172, align 4
  %174 = insertelement <16 x float> poison, float %173, i32 0
  %a39 = shufflevector <16 x float> %174, <16 x float> poison, <16 x i32> zeroinitializer
  %175 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a39, <16 x float> %b, <16 x float> %acc22)
  %176 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a39, <16 x float> %b28, <16 x float> %acc23)
  %177 = add i64 %100, 12
  %178 = getelementptr float, ptr %ap, i64 %177
  %179 = load float, ptr %178, align 4
  %180 = insertelement <16 x float> poison, float %179, i32 0
  %a40 = shufflevector <16 x float> %180, <16 x float> poison, <16 x i32> zeroinitializer
  %181 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a40, <16 x float> %b, <16 x float> %acc24)
  %182 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a40, <16 x float> %b28, <16 x float> %acc25)
  %183 = add i64 %100, 13
  %184 = getelementptr float, ptr %ap, i64 %183
  %185 = load float, ptr %184, align 4
  %186 = insertelement <16 x float> poison, float %185, i32 0
  %a41 = shufflevector <16 x float> %186, <16 x float> poison, <16 x i32> zeroinitializer
  %187 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a41, <16 x float> %b, <16 x float> %acc26)
  %188 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a41, <16 x float> %b28, <16 x float> %acc27)
  %189 = add i64 %k, 1
  br label %k.head

store.c:                                          ; preds = %k.head
  %190 = mul i64 0, %ldc
  %191 = add i64 %190, 0
  %192 = getelementptr float, ptr %c, i64 %191
  store <16 x float> %acc, ptr %192, align 4
  %193 = add i64 %190, 16
  %194 = getelementptr float, ptr %c, i64 %193
  store <16 x float> %acc1, ptr %194, align 4
  %195 = mul i64 1, %ldc
  %196 = add i64 %195, 0
  %197 = getelementptr float, ptr %c, i64 %196
  store <16 x float> %acc2, ptr %197, align 4
  %198 = add i64 %195, 16
  %199 = getelementptr float, ptr %c, i64 %198
  store <16 x float> %acc3, ptr %199, align 4
  %200 = mul i64 2, %ldc
  %201 = add i64 %200, 0
  %202 = getelementptr float, ptr %c, i64 %201
  store <16 x float> %acc4, ptr %202, align 4
  %203 = add i64 %200, 16
  %204 = getelementptr float, ptr %c, i64 %203
  store <16 x float> %acc5, ptr %204, align 4
  %205 = mul i64 3, %ldc
  %206 = add i64 %205, 0
  %207 = getelementptr float, ptr %c, i64 %206
  store <16 x float> %acc6, ptr %207, align 4
  %208 = add i64 %205, 16
  %209 = getelementptr float, ptr %c, i64 %208
  store <16 x float> %acc7, ptr %209, align 4
  %210 = mul i64 4, %ldc
  %211 = add i64 %210, 0
  %212 = getelementptr float, ptr %c, i64 %211
  store <16 x float> %acc8, ptr %212, align 4
  %213 = add i64 %210, 16
  %214 = getelementptr float, ptr %c, i64 %213
  store <16 x float> %acc9, ptr %214, align 4
  %215 = mul i64 5, %ldc
  %216 = add i64 %215, 0
  %217 = getelementptr float, ptr %c, i64 %216
  store <16 x float> %acc10, ptr %217, align 4
  %218 = add i64 %215, 16
  %219 = getelementptr float, ptr %c, i64 %218
  store <16 x float> %acc11, ptr %219, align 4
  %220 = mul i64 6, %ldc
  %221 = add i64 %220, 0
  %222 = getelementptr float, ptr %c, i64 %221
  store <16 x float> %acc12, ptr %222, align 4
  %223 = add i64 %220, 16
  %224 = getelementptr float, ptr %c, i64 %223
  store <16 x float> %acc13, ptr %224, align 4
  %225 = mul i64 7, %ldc
  %226 = add i64 %225, 0
  %227 = getelementptr float, ptr %c, i64 %226
  store <16 x float> %acc14, ptr %227, align 4
  %228 = add i64 %225, 16
  %229 = getelementptr float, ptr %c, i64 %228
  store <16 x float> %acc15, ptr %229, align 4
  %230 = mul i64 8, %ldc
  %231 = add i64 %230, 0
  %232 = getelementptr float, ptr %c, i64 %231
  store <16 x float> %acc16, ptr %232, align 4
  %233 = add i64 %230, 16
  %234 = getelementptr float, ptr %c, i64 %233
  store <16 x float> %acc17, ptr %234, align 4
  %235 = mul i64 9, %ldc
  %236 = add i64 %235, 0
  %237 = getelementptr float, ptr %c, i64 %236
  store <16 x float> %acc18, ptr %237, align 4
  %238 = add i64 %235, 16
  %239 = getelementptr float, ptr %c, i64 %238
  store <16 x float> %acc19, ptr %239, align 4
  %240 = mul i64 10, %ldc
  %241 = add i64 %240, 0
  %242 = getelementptr float, ptr %c, i64 %241
  store <16 x float> %acc20, ptr %242, align 4
  %243 = add i64 %240, 16
  %244 = getelementptr float, ptr %c, i64 %243
  store <16 x float> %acc21, ptr %244, align 4
  %245 = mul i64 11, %ldc
  %246 = add i64 %245, 0
  %247 = getelementptr float, ptr %c, i64 %246
  store <16 x float> %acc22, ptr %247, align 4
  %248 = add i64 %245, 16
  %249 = getelementptr float, ptr %c, i64 %248
  store <16 x float> %acc23, ptr %249, align 4
  %250 = mul i64 12, %ldc
  %251 = add i64 %250, 0
  %252 = getelementptr float, ptr %c, i64 %251
  store <16 x float> %acc24, ptr %252, align 4
  %253 = add i64 %250, 16
  %254 = getelementptr float, ptr %c, i64 %253
  store <16 x float> %acc25, ptr %254, align 4
  %255 = mul i64 13, %ldc
  %256 = add i64 %255, 0
  %257 = getelementptr float, ptr %c, i64 %256
  store <16 x float> %acc26, ptr %257, align 4
  %258 = add i64 %255, 16
  %259 = getelementptr float, ptr %c, i64 %258
  store <16 x float> %acc27, ptr %259, align 4
  ret void
}

; Function Attrs: nocallback nofree nosync nounwind speculatable willreturn memory(none)
declare <16 x float> @llvm.fma.v16f32(<16 x float>, <16 x float>, <16 x float>) #1

; Function Attrs: nocallback nofree nosync nounwind willreturn memory(argmem: read)
declare <16 x float> @llvm.masked.load.v16f32.p0(ptr nocapture, i32 immarg, <16 x i1>, <16 x float>) #2

; Function Attrs: nocallback nofree nosync nounwind willreturn memory(argmem: write)
declare void @llvm.masked.store.v16f32.p0(<16 x float>, ptr nocapture, i32 immarg, <16 x i1>) #3

attributes #0 = { nounwind }
attributes #1 = { nocallback nofree nosync nounwind speculatable willreturn memory(none) }
attributes #2 = { nocallback nofree nosync nounwind willreturn memory(argmem: read) }
attributes #3 = { nocallback nofree nosync nounwind willreturn memory(argmem: write) }
