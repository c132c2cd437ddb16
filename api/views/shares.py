"""/api share links: list, create for a conversation, revoke."""

from datetime import timedelta

from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.schema import SHARE_EXAMPLE, error_responses
from api.serializers import ShareIn, ShareListQuery, ShareOut, SharePageOut, parse
from conversations.models import Message
from conversations.selectors import (
    InvalidCursor,
    conversation_get_for_user,
    message_get_for_user,
)
from sharing import selectors, services


class ShareListView(APIView):
    @extend_schema(
        operation_id="shares_list",
        summary="List your share links, newest first",
        parameters=[ShareListQuery],
        responses={200: SharePageOut, **error_responses(400)},
        examples=[
            OpenApiExample(
                "Links",
                value={"data": [SHARE_EXAMPLE], "has_more": False, "next_after": None},
                response_only=True,
            )
        ],
    )
    def get(self, request):
        query = parse(ShareListQuery, request.query_params.dict())
        try:
            page = selectors.share_list_for_user(
                user=request.user, cursor=query.get("after"), limit=query["limit"]
            )
        except InvalidCursor:
            raise serializers.ValidationError({"after": ["Invalid cursor."]}) from None
        # One query for the cut-off message ids of the whole page.
        prefetch_related_objects(
            page.items, Prefetch("message", queryset=Message.objects.only("id", "public_id"))
        )
        body = {"data": page.items, "has_more": page.next_cursor is not None}
        body["next_after"] = page.next_cursor
        return Response(SharePageOut(body, context={"request": request}).data)


class ConversationShareView(APIView):
    @extend_schema(
        operation_id="shares_create",
        summary="Create a read-only link to a snapshot of the conversation",
        request=ShareIn,
        responses={201: ShareOut, **error_responses(400, 404, 413, 429)},
        examples=[
            OpenApiExample("Share for a week", value={"expires_in": 604800}, request_only=True),
            OpenApiExample("Link", value=SHARE_EXAMPLE, response_only=True),
        ],
    )
    def post(self, request, public_id):
        conversation = conversation_get_for_user(user=request.user, public_id=public_id)
        data = parse(ShareIn, request.data)
        message = None
        if data.get("message"):
            try:
                message = message_get_for_user(
                    user=request.user, public_id=data["message"], conversation=conversation
                )
            except Http404:
                raise serializers.ValidationError({"message": ["No such message."]}) from None
        expires_in = data.get("expires_in")
        share = services.share_create(
            user=request.user,
            conversation=conversation,
            message=message,
            include_context=data["include_context"],
            show_model_names=data["show_model_names"],
            expires_in=timedelta(seconds=expires_in) if expires_in else None,
            expires_at=data.get("expires_at"),
        )
        return Response(
            ShareOut(share, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class ShareDetailView(APIView):
    @extend_schema(
        operation_id="shares_revoke",
        summary="Revoke a share link; it answers 404 from then on",
        responses={204: None, **error_responses(404, 429)},
    )
    def delete(self, request, token):
        share = selectors.share_get_for_user(user=request.user, token=token)
        services.share_revoke(share=share)
        return Response(status=status.HTTP_204_NO_CONTENT)
