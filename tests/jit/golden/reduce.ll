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
  %4 = mul i64 %o, 8
  %first = add i64 %4, %j
  br label %scalar

scalar:                                           ; preds = %out.body
  %5 = getelementptr float, ptr %in, i64 %first
  %6 = load float, ptr %5, align 4
  %7 = fmul float %6, %6
  br label %scalar.red

out.next:                                         ; preds = %scalar.done
  %idx.next = phi i64 [ %15, %scalar.done ]
  br label %out.head

exit:                                             ; preds = %out.head
  ret void

scalar.red:                                       ; preds = %scalar.red, %scalar
  %r = phi i64 [ 1, %scalar ], [ %r.next, %scalar.red ]
  %a = phi float [ %7, %scalar ], [ %acc, %scalar.red ]
  %8 = mul i64 %r, 1
  %9 = add i64 %first, %8
  %10 = getelementptr float, ptr %in, i64 %9
  %11 = load float, ptr %10, align 4
  %12 = fmul float %11, %11
  %acc = fadd float %a, %12
  %r.next = add i64 %r, 1
  %13 = icmp slt i64 %r.next, 8
  br i1 %13, label %scalar.red, label %scalar.done

scalar.done:                                      ; preds = %scalar.red
  %14 = getelementptr float, ptr %out, i64 %idx
  store float %acc, ptr %14, align 4
  %15 = add i64 %idx, 1
  br label %out.next
}

attributes #0 = { nounwind }
